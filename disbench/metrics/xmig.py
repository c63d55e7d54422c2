"""XMIG: the dependency-blind Mutual Information Gap (Watcharasupat 2021; latte ``xmig``).

For each factor ``a_i`` carried by code dimension ``z_{r_i}``, the gap to the best
dimension that carries *no* factor:

    XMIG_i = (I(a_i; z_{r_i}) - max_{d not in r} I(a_i; z_d)) / H(a_i)

so a factor shared with another factor's dimension (as dependent factors are) does
not count against it; it needs more code dimensions than factors. See
:mod:`disbench.metrics.dependency_gaps` for the estimators and the assignment ``r``.
"""

from __future__ import annotations

import numpy as np

from disbench.metrics.base import MetricInput, check_metric_input, MetricNotApplicable, MetricResult, Score, register_codes_metric
from disbench.metrics.dependency_gaps import DependencyGapOptions, DependencyInformation


@register_codes_metric(
    "xmig",
    value_range=(-1.0, 1.0),
    reference="Watcharasupat 2021, Controllable Music: Supervised Learning of Disentangled Representations for Music Generation; latte mutual_info.py xmig",
    summary="Dependency-blind MIG: each factor's gap to the best dimension that carries no factor, over its entropy",
    options=DependencyGapOptions,
)
def compute_xmig(data: MetricInput, options: DependencyGapOptions, rng: np.random.Generator) -> MetricResult:
    """XMIG of the codes against every factor, and their mean (factor ``"all"``).

    Raises:
        UsageError: invalid codes or factors; MetricNotApplicable: no more code dimensions
            than factors (no dimension is left free to compare with).
    """
    data = check_metric_input(data)
    codes, num_factors = data.codes, data.factors.shape[1]
    if codes.shape[1] <= num_factors:
        raise MetricNotApplicable(
            f"XMIG compares each factor's dimension with the dimensions that carry no factor; "
            f"the codes have {codes.shape[1]} dimensions for {num_factors} factors (it needs more dimensions than factors)."
        )
    info = DependencyInformation(data, options, rng)
    assigned = info.assigned_dimensions()
    free = np.setdiff1d(np.arange(info.mutual_info.shape[0]), assigned)
    gaps = [
        float(info.mutual_info[own, i] - info.mutual_info[free, i].max()) / float(info.entropy[i])
        for i, own in enumerate(assigned)
    ]
    scores = [Score("xmig", g, name) for g, name in zip(gaps, info.factor_names)]
    scores.append(Score("xmig", float(np.mean(gaps))))
    return MetricResult(
        scores,
        {
            "mutual_info": info.mutual_info.tolist(),
            "factor_entropy": info.entropy.tolist(),
            "assigned_dimension": assigned,
            "factors": info.factor_names,
        },
    )
