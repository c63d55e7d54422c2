"""R^2 of each factor group from each code space: the matrix the multi-space claims are stated in.

A thin view over the registered ``r2`` metric (von Kugelgen et al. 2021's protocol:
standardised codes and targets, linear regression and RBF kernel ridge with alpha and
gamma chosen by 3-fold grid search, scored on held-out points), averaged over the
factors of each group. Used by the self-supervised methods' tests and by
``benchmarks/ssl_synthetic_r2.py``.
"""

from __future__ import annotations

import numpy as np

from disbench.datasets.base import Factor


def r2_matrix(
    train_spaces: dict[str, np.ndarray],
    train_factors: np.ndarray,
    test_spaces: dict[str, np.ndarray],
    test_factors: np.ndarray,
    factors: list[Factor],
    kind: str = "kernel",
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """R^2 of every factor group from every space.

    Args:
        train_spaces, test_spaces: space name -> codes ``(n, d)``.
        train_factors, test_factors: ``(n, F)`` factor values.
        factors: the dataset's factors (their ``group`` names the columns of the matrix).
        kind: ``kernel`` (RBF kernel ridge) or ``linear``.
        seed: seeds the metric's subsets.

    Returns:
        ``{space: {group: mean R^2 over the group's factors}}``.
    """
    from disbench.metrics import METRICS, MetricInput

    if kind not in ("kernel", "linear"):
        raise ValueError(f"kind must be 'kernel' or 'linear', got {kind!r}")
    metric = METRICS.get("r2")
    matrix = {}
    for space, codes in train_spaces.items():
        data = MetricInput(codes, train_factors, list(factors), test_spaces[space], test_factors)
        result = metric.compute(data, metric.default_options(), np.random.default_rng(seed))
        matrix[space] = result.details["group_mean"][f"r2.{kind}"]
    return matrix
