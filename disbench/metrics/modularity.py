"""Modularity (Ridgeway & Mozer 2018), as in disentanglement_lib.

From the ``(d, F)`` mutual-information matrix of binned codes and factors (the
same estimate as MIG), each code dimension's deviation from an ideal modular
dimension that informs about one factor only:

    delta_j = (sum_k m_jk^2 - max_k m_jk^2) / (max_k m_jk^2 (F - 1)),  modularity = mean_j (1 - delta_j)

(0 for a dimension with no information at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disbench.metrics.base import MetricInput, MetricNotApplicable, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import subsample
from disbench.metrics.mig import binned_mutual_info


@dataclass
class ModularityOptions:
    """Attributes:
    num_bins: equal-width bins per code dimension (dlib: 20).
    continuous_factor_bins: equal-width bins for continuous factors.
    num_train: use at most this many points; ``None`` uses all.
    """

    num_bins: int = 20
    continuous_factor_bins: int = 20
    num_train: int | None = None


def modularity_from_mutual_info(mutual_info: np.ndarray) -> np.ndarray:
    """Per-dimension modularity ``(d,)`` from the ``(d, F)`` mutual-information matrix."""
    squared = np.square(mutual_info)
    largest = squared.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (squared.sum(axis=1) - largest) / (largest * (squared.shape[1] - 1.0))
    return np.where(largest == 0.0, 0.0, 1.0 - delta)


@register_codes_metric(
    "modularity",
    reference=(
        "Ridgeway & Mozer 2018, Learning Deep Disentangled Embeddings with the F-Statistic Loss; "
        "dlib modularity_explicitness.py"
    ),
    summary="Modularity: how much each code dimension informs about a single factor (20-bin MI)",
    options=ModularityOptions,
)
def compute_modularity(data: MetricInput, options: ModularityOptions, rng: np.random.Generator) -> MetricResult:
    """Modularity of the codes (train split).

    Args:
        data: codes ``(N, d)`` and at least two factors.
        options: :class:`ModularityOptions`.
        rng: draws the subset when ``num_train`` is below ``N``.

    Returns:
        ``modularity`` (factor ``"all"``); details hold the per-dimension scores and the MI matrix.

    Raises:
        UsageError: invalid input or a single factor (the template needs ``F - 1 > 0``).
    """
    data = check_metric_input(data)
    if data.factors.shape[1] < 2:
        raise MetricNotApplicable("modularity needs at least 2 factors; with one, every dimension is trivially modular.")
    rows = subsample(len(data.codes), options.num_train, rng)
    mutual_info, _ = binned_mutual_info(data, options.num_bins, options.continuous_factor_bins, rows)
    per_dim = modularity_from_mutual_info(mutual_info)
    return MetricResult(
        [Score("modularity", float(per_dim.mean()))],
        {"per_dimension": per_dim.tolist(), "mutual_info": mutual_info.tolist()},
    )
