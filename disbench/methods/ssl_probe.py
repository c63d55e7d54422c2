"""R^2 of each factor group from each code space: the matrix the multi-space claims are stated in.

The protocol of von Kugelgen et al. 2021 (``ssl_identifiability``): standardise codes
and targets on the training split, fit a regressor per (space, factor group), report
the coefficient of determination on held-out points, averaged over the group's
factors. ``kind="kernel"`` is RBF kernel ridge with alpha and gamma chosen by 3-fold
grid search; ``kind="linear"`` is ordinary least squares.

This is the self-supervised methods' own check, used by their tests and by
``benchmarks/ssl_synthetic_r2.py``; the registered ``r2`` metric is the user-facing one.
"""

from __future__ import annotations

import numpy as np

#: alpha grid of the kernel ridge search (ssl_identifiability's values)
ALPHAS = (1e-3, 1e-2, 1e-1, 1.0)
#: gamma grid, multiplied by 1 / code dimension so that it suits standardised codes of any width
GAMMAS = (0.1, 0.3, 1.0)


def group_r2(
    train_codes: np.ndarray,
    train_targets: np.ndarray,
    test_codes: np.ndarray,
    test_targets: np.ndarray,
    kind: str = "kernel",
    seed: int = 0,
) -> float:
    """Held-out R^2 of ``targets`` (n, k) from ``codes`` (n, d), averaged over the k targets."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GridSearchCV, KFold

    code_mean, code_std = train_codes.mean(0), train_codes.std(0) + 1e-8
    target_mean, target_std = train_targets.mean(0), train_targets.std(0) + 1e-8
    x_train, x_test = (train_codes - code_mean) / code_std, (test_codes - code_mean) / code_std
    y_train, y_test = (train_targets - target_mean) / target_std, (test_targets - target_mean) / target_std
    if kind == "linear":
        model = LinearRegression().fit(x_train, y_train)
    elif kind == "kernel":
        dim = x_train.shape[1]
        grid = {"alpha": list(ALPHAS), "gamma": [g / dim for g in GAMMAS]}
        folds = KFold(3, shuffle=True, random_state=seed)
        model = GridSearchCV(KernelRidge(kernel="rbf"), grid, cv=folds).fit(x_train, y_train)
    else:
        raise ValueError(f"kind must be 'kernel' or 'linear', got {kind!r}")
    return float(r2_score(y_test, model.predict(x_test), multioutput="uniform_average"))


def r2_matrix(
    train_spaces: dict[str, np.ndarray],
    train_factors: np.ndarray,
    test_spaces: dict[str, np.ndarray],
    test_factors: np.ndarray,
    groups: dict[str, list[int]],
    kind: str = "kernel",
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """R^2 of every factor group from every space.

    Args:
        train_spaces, test_spaces: space name -> codes ``(n, d)``.
        train_factors, test_factors: ``(n, F)`` factor values.
        groups: group name -> factor column indices.
        kind: ``kernel`` or ``linear``.

    Returns:
        ``{space: {group: R^2}}``.
    """
    return {
        space: {
            group: group_r2(
                train_spaces[space], train_factors[:, cols], test_spaces[space], test_factors[:, cols], kind, seed
            )
            for group, cols in groups.items()
        }
        for space in train_spaces
    }
