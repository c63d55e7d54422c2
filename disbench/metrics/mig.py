"""Mutual Information Gap (Chen et al. 2018), as computed by disentanglement_lib.

For each factor ``k`` with entropy ``H(v_k)``, MIG is the gap between the two code
dimensions that carry most mutual information about it, normalised:

    MIG = 1/K sum_k (I(z_a; v_k) - I(z_b; v_k)) / H(v_k),   a, b the top two dims

Mutual information is the plug-in estimate (nats) on codes binned per dimension
into ``num_bins`` equal-width bins (:mod:`disbench.metrics.discretize`).
Continuous factors are binned the same way (``continuous_factor_bins``), a choice
dlib does not make (it supports discrete factors only) and that is recorded with
the result.

Example:
    >>> import numpy as np
    >>> from disbench.datasets.base import Factor
    >>> from disbench.metrics.base import MetricInput
    >>> factors = np.random.default_rng(0).integers(0, 5, size=(1000, 2))
    >>> data = MetricInput(factors.astype(float), factors, [Factor("a", "content", 5), Factor("b", "content", 5)])
    >>> round(compute_mig(data, MIGOptions(), np.random.default_rng(0)).scores[0].value, 3)
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disbench.metrics.base import MetricInput, MetricNotApplicable, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import (
    compact_labels,
    discrete_factors,
    histogram_discretize,
    label_entropy,
    mutual_info_matrix,
    subsample,
)


@dataclass
class MIGOptions:
    """Attributes:
    num_bins: equal-width bins per code dimension (dlib: 20).
    continuous_factor_bins: equal-width bins for continuous factors (not in dlib).
    num_train: use at most this many points (seeded subset); ``None`` uses all (dlib scores 10,000).
    """

    num_bins: int = 20
    continuous_factor_bins: int = 20
    num_train: int | None = None

    def __post_init__(self) -> None:
        if self.num_bins < 2 or self.continuous_factor_bins < 2:
            raise ValueError("num_bins and continuous_factor_bins must be at least 2")


def require_dims(codes: np.ndarray, minimum: int, metric: str) -> None:
    """UsageError when ``codes`` have fewer than ``minimum`` dimensions (gap metrics compare two)."""
    if codes.shape[1] < minimum:
        raise MetricNotApplicable(
            f"{metric} needs codes with at least {minimum} dimensions, got {codes.shape[1]}; "
            "it compares the best dimension with the runner-up."
        )


def binned_mutual_info(
    data: MetricInput, num_bins: int, continuous_factor_bins: int, rows: np.ndarray | slice = slice(None)
) -> tuple[np.ndarray, np.ndarray]:
    """Mutual information matrix ``(d, F)`` of binned codes and factors, and factor entropies ``(F,)``."""
    binned_codes, code_sizes = compact_labels(histogram_discretize(data.codes[rows], num_bins))
    factor_labels, factor_sizes = discrete_factors(data.factors[rows], data.factor_info, continuous_factor_bins)
    return (
        mutual_info_matrix(binned_codes, code_sizes, factor_labels, factor_sizes),
        label_entropy(factor_labels, factor_sizes),
    )


@register_codes_metric(
    "mig",
    reference="Chen et al. 2018, Isolating Sources of Disentanglement in VAEs; dlib mig.py",
    summary="Mutual Information Gap: top-two MI gap per factor over its entropy (20-bin histograms)",
    options=MIGOptions,
)
def compute_mig(data: MetricInput, options: MIGOptions, rng: np.random.Generator) -> MetricResult:
    """Mutual Information Gap of the codes (train split) against every factor.

    Args:
        data: codes ``(N, d)`` with ``d >= 2`` and factors ``(N, F)``.
        options: :class:`MIGOptions`.
        rng: draws the subset when ``num_train`` is below ``N``.

    Returns:
        ``mig`` for each factor and their mean (factor ``"all"``); details hold the
        ``(d, F)`` mutual information matrix (nats) and the factor entropies.

    Raises:
        UsageError: invalid codes or factors, or fewer than two code dimensions.
    """
    data = check_metric_input(data)
    require_dims(data.codes, 2, "MIG")
    rows = subsample(len(data.codes), options.num_train, rng)
    mutual_info, entropy = binned_mutual_info(data, options.num_bins, options.continuous_factor_bins, rows)
    top_two = -np.sort(-mutual_info, axis=0)[:2]
    gaps = (top_two[0] - top_two[1]) / entropy
    scores = [Score("mig", float(g), name) for g, name in zip(gaps, data.factor_names)]
    scores.append(Score("mig", float(np.mean(gaps))))
    return MetricResult(
        scores,
        {"mutual_info": mutual_info.tolist(), "factor_entropy": entropy.tolist(), "factors": data.factor_names},
    )
