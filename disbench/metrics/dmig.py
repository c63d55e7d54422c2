"""DMIG: the Dependency-aware Mutual Information Gap (Watcharasupat & Lerch 2021; latte ``dmig``).

For each factor ``a_i`` carried by code dimension ``z_{r_i}``:

    DMIG_i = (I(a_i; z_{r_i}) - max_{d != r_i} I(a_i; z_d)) / H(a_i | a_l)

where ``a_l`` is the factor carried by the runner-up dimension (``H(a_i)`` when that
dimension carries no factor, and DMIG is MIG's gap). The gap is negative when another
dimension carries more of ``a_i`` than its own. See
:mod:`disbench.metrics.dependency_gaps` for the estimators and the assignment ``r``.
"""

from __future__ import annotations

import numpy as np

from disbench.metrics.base import MetricInput, check_metric_input, MetricResult, Score, register_codes_metric
from disbench.metrics.dependency_gaps import DependencyGapOptions, DependencyInformation, gap_to_best_other
from disbench.metrics.mig import require_dims


@register_codes_metric(
    "dmig",
    value_range=(-1.0, 1.0),
    reference="Watcharasupat & Lerch 2021, Evaluation of Latent Space Disentanglement in the Presence of Interdependent Attributes; latte mutual_info.py dmig",
    summary="Dependency-aware MIG: each factor's gap to the runner-up dimension over its entropy given the runner-up's factor",
    options=DependencyGapOptions,
)
def compute_dmig(data: MetricInput, options: DependencyGapOptions, rng: np.random.Generator) -> MetricResult:
    """DMIG of the codes against every factor, and their mean (factor ``"all"``).

    Raises:
        UsageError: invalid codes or factors; MetricNotApplicable: fewer than two code
            dimensions, or fewer dimensions than factors.
    """
    data = check_metric_input(data)
    require_dims(data.codes, 2, "DMIG")
    info = DependencyInformation(data, options, rng)
    assigned = info.assigned_dimensions()
    gaps, denominators = [], []
    for i, own in enumerate(assigned):
        gap, runner_up = gap_to_best_other(info.mutual_info[:, i], own)
        if runner_up in assigned:
            denominator = info.conditional_entropy(i, assigned.index(runner_up))
        else:
            denominator = float(info.entropy[i])
        gaps.append(gap / denominator)
        denominators.append(denominator)
    scores = [Score("dmig", float(g), name) for g, name in zip(gaps, info.factor_names)]
    scores.append(Score("dmig", float(np.mean(gaps))))
    return MetricResult(
        scores,
        {
            "mutual_info": info.mutual_info.tolist(),
            "factor_entropy": info.entropy.tolist(),
            "denominator": denominators,
            "assigned_dimension": assigned,
            "factors": info.factor_names,
        },
    )
