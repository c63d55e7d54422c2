"""Interventional Robustness Score (Suter et al. 2019), as in disentanglement_lib.

Factors are binned into ``num_bins`` equal-width bins (dlib bins every factor,
discrete ones included). For factor ``i`` and each of its values ``g``, the
``diff_quantile`` quantile of ``|z - E[z | g_i = g]|`` per code dimension
measures how much the code still moves when ``g_i`` is held fixed; averaged over
values and divided by the dimension's largest deviation from its mean, it gives
``1 - IRS[j, i]``. A dimension scores its best factor; IRS is the average over
non-constant dimensions weighted by their largest deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disbench.metrics.base import MetricInput, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import histogram_discretize, subsample


@dataclass
class IRSOptions:
    """Attributes:
    num_bins: equal-width bins per factor (dlib: 20).
    diff_quantile: quantile of the deviations (dlib: 0.99; 1.0 is the paper's maximum).
    num_train: use at most this many points (dlib: 10,000); ``None`` uses all.
    """

    num_bins: int = 20
    diff_quantile: float = 0.99
    num_train: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.diff_quantile <= 1.0:
            raise ValueError(f"diff_quantile must be in (0, 1], got {self.diff_quantile}")


def irs_matrix(binned_factors: np.ndarray, codes: np.ndarray, diff_quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """``(d, F)`` IRS matrix and ``(d,)`` largest deviations of non-constant codes (dlib's scalable score)."""
    max_deviation = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)
    cumulative = np.zeros((codes.shape[1], binned_factors.shape[1]))
    for i in range(binned_factors.shape[1]):
        order = np.argsort(binned_factors[:, i], kind="stable")
        values, starts = np.unique(binned_factors[order, i], return_index=True)
        for group in np.split(order, starts[1:]):
            members = codes[group]
            deviation = np.abs(members - members.mean(axis=0))
            cumulative[:, i] += np.quantile(deviation, diff_quantile, axis=0)
        cumulative[:, i] /= len(values)
    return 1.0 - cumulative / max_deviation[:, None], max_deviation


@register_codes_metric(
    "irs",
    reference="Suter et al. 2019, Robustly Disentangled Causal Mechanisms; dlib irs.py",
    summary="Interventional Robustness Score: code stability when one factor is held fixed",
    options=IRSOptions,
)
def compute_irs(data: MetricInput, options: IRSOptions, rng: np.random.Generator) -> MetricResult:
    """IRS of the codes (train split).

    Args:
        data: codes and factors.
        options: :class:`IRSOptions`.
        rng: draws the subset when ``num_train`` is below ``N``.

    Returns:
        ``irs`` (factor ``"all"``; 0 when every dimension is constant); details hold the IRS matrix
        and the number of active dimensions.

    Raises:
        UsageError: invalid input.
    """
    data = check_metric_input(data)
    rows = subsample(len(data.codes), options.num_train, rng)
    codes = data.codes[rows]
    binned = histogram_discretize(data.factors[rows].astype(np.float64), options.num_bins)
    active = codes.var(axis=0) > 0.0
    if not active.any():
        return MetricResult([Score("irs", 0.0)], {"num_active_dims": 0})
    matrix, max_deviation = irs_matrix(binned, codes[:, active], options.diff_quantile)
    per_dim = matrix.max(axis=1)
    score = np.average(per_dim, weights=max_deviation) if max_deviation.sum() > 0 else per_dim.mean()
    return MetricResult(
        [Score("irs", float(score))],
        {"irs_matrix": matrix.tolist(), "num_active_dims": int(active.sum()), "parents": matrix.argmax(axis=1).tolist()},
    )
