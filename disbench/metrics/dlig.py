"""DLIG: the Dependency-aware Latent Information Gap (Watcharasupat 2021; latte ``dlig``).

The latent-centric counterpart of DMIG: for the code dimension ``z_{r_i}`` that carries
factor ``a_i``, the gap between what it holds of ``a_i`` and of the best other factor
``a_k``, over the entropy of ``a_i`` given ``a_k``:

    DLIG_i = (I(a_i; z_{r_i}) - max_{k != i} I(a_k; z_{r_i})) / H(a_i | a_k)

It needs at least two factors. See :mod:`disbench.metrics.dependency_gaps` for the
estimators and the assignment ``r``.
"""

from __future__ import annotations

import numpy as np

from disbench.metrics.base import MetricInput, check_metric_input, MetricNotApplicable, MetricResult, Score, register_codes_metric
from disbench.metrics.dependency_gaps import DependencyGapOptions, DependencyInformation, gap_to_best_other


@register_codes_metric(
    "dlig",
    value_range=(-1.0, 1.0),
    reference="Watcharasupat 2021, Controllable Music: Supervised Learning of Disentangled Representations for Music Generation; latte mutual_info.py dlig",
    summary="Dependency-aware latent gap: each factor's dimension, its factor against the next best factor, over the conditional entropy",
    options=DependencyGapOptions,
)
def compute_dlig(data: MetricInput, options: DependencyGapOptions, rng: np.random.Generator) -> MetricResult:
    """DLIG of each factor's code dimension (scored under the factor's name), and their mean.

    Raises:
        UsageError: invalid codes or factors; MetricNotApplicable: one factor, or fewer code
            dimensions than factors.
    """
    data = check_metric_input(data)
    if data.factors.shape[1] < 2:
        raise MetricNotApplicable("DLIG compares the factors a dimension carries; it needs at least two factors.")
    info = DependencyInformation(data, options, rng)
    assigned = info.assigned_dimensions()
    gaps, runners_up = [], []
    for i, dimension in enumerate(assigned):
        gap, other = gap_to_best_other(info.mutual_info[dimension], i)
        gaps.append(gap / info.conditional_entropy(i, other))
        runners_up.append(info.factor_names[other])
    scores = [Score("dlig", float(g), name) for g, name in zip(gaps, info.factor_names)]
    scores.append(Score("dlig", float(np.mean(gaps))))
    return MetricResult(
        scores,
        {
            "factor_entropy": info.entropy.tolist(),
            "assigned_dimension": assigned,
            "runner_up_factor": runners_up,
            "factors": info.factor_names,
        },
    )
