"""Unsupervised dependence scores of the codes (disentanglement_lib's ``unsupervised_metrics``).

They need no factors and measure how dependent the code dimensions are (lower
means more factorised):

- Gaussian total correlation of the code covariance ``S``:
  ``(sum_j log S_jj - log det S) / 2``, the KL divergence between a Gaussian with
  covariance ``S`` and the product of its marginals;
- Gaussian Wasserstein correlation: ``2 tr S - 2 tr sqrt(S diag(S))``, the squared
  2-Wasserstein distance between the same two Gaussians, and its value divided by
  ``tr S``;
- mean mutual information (nats) between pairs of code dimensions, each binned
  into ``num_bins`` equal-width bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from disbench.metrics.base import MetricInput, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import (
    compact_labels,
    contingency_tables,
    histogram_discretize,
    mutual_info_from_contingency,
    subsample,
)
from disbench.metrics.mig import require_dims


@dataclass
class UnsupervisedOptions:
    """Attributes:
    num_bins: equal-width bins per code dimension for the mutual information (dlib: 20).
    num_train: use at most this many points (dlib: 10,000); ``None`` uses all.
    """

    num_bins: int = 20
    num_train: int | None = None


def gaussian_total_correlation(cov: np.ndarray) -> float:
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    root = scipy.linalg.sqrtm(cov * np.diag(cov)[:, None])
    return float(2.0 * np.trace(cov) - 2.0 * np.real(np.trace(root)))


def pairwise_mutual_info(binned: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Symmetric ``(d, d)`` mutual information between label columns, zero diagonal."""
    d = binned.shape[1]
    matrix = np.zeros((d, d))
    for i in range(d - 1):
        tables = contingency_tables(binned[:, i], int(sizes[i]), binned[:, i + 1 :], sizes[i + 1 :])
        matrix[i, i + 1 :] = [mutual_info_from_contingency(t) for t in tables]
    return matrix + matrix.T


@register_codes_metric(
    "unsupervised",
    higher_is_better=False,
    value_range=(0.0, float("inf")),
    reference="Locatello et al. 2019, Challenging Common Assumptions; dlib unsupervised_metrics.py",
    summary="Dependence between code dimensions: Gaussian total / Wasserstein correlation, mean pairwise MI",
    options=UnsupervisedOptions,
)
def compute_unsupervised(data: MetricInput, options: UnsupervisedOptions, rng: np.random.Generator) -> MetricResult:
    """Unsupervised scores of the codes (train split; factors unused).

    Args:
        data: codes ``(N, d)`` with ``d >= 2``.
        options: :class:`UnsupervisedOptions`.
        rng: draws the subset when ``num_train`` is below ``N``.

    Returns:
        ``unsupervised.gaussian_total_correlation``, ``unsupervised.gaussian_wasserstein_correlation``,
        ``unsupervised.gaussian_wasserstein_correlation_norm`` and ``unsupervised.mutual_info``
        (the Gaussian scores over non-constant dimensions only).

    Raises:
        UsageError: invalid codes or a single dimension.
    """
    data = check_metric_input(data)
    require_dims(data.codes, 2, "the unsupervised scores")
    codes = data.codes[subsample(len(data.codes), options.num_train, rng)]
    # A constant dimension is independent of every other: it adds nothing to either
    # Gaussian correlation and has zero MI, but would make log(var) and log det infinite.
    active = codes.var(axis=0) > 0
    d = codes.shape[1]
    if active.sum() >= 2:
        cov = np.cov(codes[:, active], rowvar=False)
        total_correlation = gaussian_total_correlation(cov)
        wasserstein = gaussian_wasserstein_correlation(cov)
        wasserstein_norm = wasserstein / float(np.trace(cov))
    else:
        total_correlation = wasserstein = wasserstein_norm = 0.0
    binned, sizes = compact_labels(histogram_discretize(codes, options.num_bins))
    mutual_info = pairwise_mutual_info(binned, sizes)
    scores = [
        Score("unsupervised.gaussian_total_correlation", total_correlation),
        Score("unsupervised.gaussian_wasserstein_correlation", wasserstein),
        Score("unsupervised.gaussian_wasserstein_correlation_norm", wasserstein_norm),
        Score("unsupervised.mutual_info", float(mutual_info.sum() / (d * d - d))),
    ]
    return MetricResult(scores, {"mutual_info": mutual_info.tolist(), "num_active_dims": int(active.sum())})
