"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams 2018), as in disentanglement_lib.

An importance matrix ``R`` (code dimensions x factors) records how much each
dimension serves to predict each factor. With ``P = R`` normalised per row:

    disentanglement = sum_j rho_j (1 - H_F(P[j, :])),   rho_j = sum_k R[j, k] / sum R
    completeness    = sum_k rho_k (1 - H_d(P~[:, k])),  P~ = R normalised per column

where ``H_b`` is the entropy in base ``b`` (``1e-11`` added to every entry, as dlib).
Informativeness is the train and test accuracy of the predictors.

Estimators (``estimator`` option):

- ``"gbt"`` (default, as dlib): one ``GradientBoostingClassifier()`` per factor with
  scikit-learn's default settings, importances from impurity (gain). Fitted by
  :mod:`disbench.metrics.gbt_exact`, which grows every factor's trees at once with
  scikit-learn's exact thresholds (every midpoint between distinct code values); it
  equals scikit-learn's model up to the choice among exactly tied splits (scikit-learn
  picks by a random feature order; here a seeded one), measured within 0.005 of
  ``GradientBoostingClassifier(random_state=0)`` in tests and ``benchmarks/metrics.py``.
- ``"lasso"``: one ``sklearn.linear_model.Lasso(alpha)`` per factor on standardised
  codes and factor values (Eastwood & Williams' linear variant), importances
  ``|coef|``, informativeness = R^2 (train / test) instead of accuracy.

Continuous factors are binned into ``continuous_factor_bins`` equal-width bins for
the classifier (dlib supports discrete factors only); the lasso uses them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from disbench.metrics.base import MetricInput, MetricNotApplicable, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import histogram_discretize, subsample
from disbench.metrics.gbt_exact import fit_exact_boosted_trees


@dataclass
class DCIOptions:
    """Attributes:
    estimator: ``"gbt"`` (dlib: scikit-learn's exact trees) or ``"lasso"``.
    num_train: train points at most (seeded subset; dlib: 10,000).
    num_test: test points at most (dlib: 5,000).
    n_estimators, learning_rate, max_depth: the boosted trees (scikit-learn's defaults).
    lasso_alpha: L1 strength of the lasso variant.
    continuous_factor_bins: equal-width bins turning continuous factors into classes (gbt).
    """

    estimator: Literal["gbt", "lasso"] = "gbt"
    num_train: int | None = 10_000
    num_test: int | None = 5_000
    n_estimators: int = 100
    learning_rate: float = 0.1
    max_depth: int = 3
    lasso_alpha: float = 0.02
    continuous_factor_bins: int = 20

    def __post_init__(self) -> None:
        if self.n_estimators < 1 or self.max_depth < 1:
            raise ValueError("n_estimators and max_depth must be at least 1")
        if self.max_depth > 8:
            # every stage draws a dimension order per node: (trees x 2**max_depth x dims) floats
            raise ValueError(f"max_depth must be at most 8 (got {self.max_depth}); dlib uses 3")
        if self.learning_rate <= 0 or self.lasso_alpha <= 0:
            raise ValueError("learning_rate and lasso_alpha must be positive")


def _one_minus_entropy(distributions: np.ndarray, base: int) -> np.ndarray:
    """``1 - H_base`` of each column of ``distributions`` (normalised after adding 1e-11, as scipy.stats.entropy)."""
    p = distributions + 1e-11
    p = p / p.sum(axis=0, keepdims=True)
    return 1.0 - (-(p * np.log(p)).sum(axis=0) / np.log(base))


def disentanglement(importance: np.ndarray) -> float:
    """Importance-weighted mean over code dimensions of ``1 - H_F(row)``; importance ``(d, F)``."""
    per_code = _one_minus_entropy(importance.T, importance.shape[1])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_code * weights.sum(axis=1) / weights.sum()))


def completeness(importance: np.ndarray) -> float:
    """Importance-weighted mean over factors of ``1 - H_d(column)``; importance ``(d, F)``."""
    per_factor = _one_minus_entropy(importance, importance.shape[0])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_factor * weights.sum(axis=0) / weights.sum()))


def _class_labels(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Train labels ``0..K-1`` and test labels on the same scale (``-1`` for unseen values)."""
    classes, train_labels = np.unique(train, return_inverse=True)
    position = np.searchsorted(classes, test)
    position = np.clip(position, 0, len(classes) - 1)
    test_labels = np.where(classes[position] == test, position, -1)
    return train_labels, test_labels, len(classes)


def gbt_importances(train_codes, train_factors, test_codes, test_factors, factor_info, options: DCIOptions, rng):
    """Importance matrix ``(d, F)`` and train/test accuracies ``(F,)`` from boosted trees."""
    train_f = train_factors.astype(np.float64)
    test_f = test_factors.astype(np.float64)
    for k, info in enumerate(factor_info):
        if info.continuous:
            # bin on the union so train and test share edges
            both = histogram_discretize(np.concatenate([train_f[:, k], test_f[:, k]])[:, None], options.continuous_factor_bins)
            train_f[:, k], test_f[:, k] = both[: len(train_f), 0], both[len(train_f) :, 0]
    labels = [_class_labels(train_f[:, k], test_f[:, k]) for k in range(train_f.shape[1])]
    result = fit_exact_boosted_trees(
        train_codes,
        np.stack([lab[0] for lab in labels], axis=1),
        [lab[2] for lab in labels],
        test_codes,
        np.stack([lab[1] for lab in labels], axis=1),
        n_estimators=options.n_estimators,
        learning_rate=options.learning_rate,
        max_depth=options.max_depth,
        rng=rng,
    )
    return result.importances, result.train_accuracy, result.test_accuracy


def lasso_importances(train_codes, train_factors, test_codes, test_factors, options: DCIOptions):
    """Importance matrix ``|coef|`` ``(d, F)`` and train/test R^2 ``(F,)`` from one lasso per factor."""
    from sklearn.linear_model import Lasso

    mean, std = train_codes.mean(axis=0), train_codes.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x_train, x_test = (train_codes - mean) / std, (test_codes - mean) / std
    y_mean, y_std = train_factors.mean(axis=0), train_factors.std(axis=0)
    y_train, y_test = (train_factors - y_mean) / y_std, (test_factors - y_mean) / y_std
    importance = np.zeros((train_codes.shape[1], train_factors.shape[1]))
    r2_train, r2_test = np.zeros(train_factors.shape[1]), np.zeros(train_factors.shape[1])
    for k in range(train_factors.shape[1]):
        model = Lasso(alpha=options.lasso_alpha).fit(x_train, y_train[:, k])
        importance[:, k] = np.abs(model.coef_)
        r2_train[k] = model.score(x_train, y_train[:, k])
        r2_test[k] = model.score(x_test, y_test[:, k])
    return importance, r2_train, r2_test


@register_codes_metric(
    "dci",
    reference="Eastwood & Williams 2018, A Framework for the Quantitative Evaluation of Disentangled Representations; dlib dci.py",
    summary="DCI disentanglement, completeness, informativeness from boosted-tree (or lasso) importances",
    options=DCIOptions,
)
def compute_dci(data: MetricInput, options: DCIOptions, rng: np.random.Generator) -> MetricResult:
    """DCI scores of the codes.

    Args:
        data: codes ``(N, d)`` and factors ``(N, F)``, ``d >= 2`` and ``F >= 2``; the held-out
            split if given, else a seeded split.
        options: :class:`DCIOptions`.
        rng: draws the split and subsets.

    Returns:
        ``dci.disentanglement``, ``dci.completeness``, ``dci.informativeness_train`` and
        ``dci.informativeness_test`` (factor ``"all"``), per-factor informativeness, and the
        importance matrix in the details.

    Raises:
        UsageError: invalid input, or fewer than two dimensions or factors (the entropies
        would have base 1).
    """
    data = check_metric_input(data)
    if data.codes.shape[1] < 2 or data.factors.shape[1] < 2:
        raise MetricNotApplicable(
            f"DCI needs at least 2 code dimensions and 2 factors, got {data.codes.shape[1]} and "
            f"{data.factors.shape[1]}; its entropies are taken over dimensions and over factors."
        )
    train_codes, train_factors, test_codes, test_factors = data.train_test(rng)
    train_rows = subsample(len(train_codes), options.num_train, rng)
    test_rows = subsample(len(test_codes), options.num_test, rng)
    train_codes, train_factors = train_codes[train_rows], train_factors[train_rows]
    test_codes, test_factors = test_codes[test_rows], test_factors[test_rows]
    if options.estimator == "gbt":
        importance, info_train, info_test = gbt_importances(
            train_codes, train_factors, test_codes, test_factors, data.factor_info, options, rng
        )
    else:
        importance, info_train, info_test = lasso_importances(
            train_codes, train_factors.astype(np.float64), test_codes, test_factors.astype(np.float64), options
        )
    scores = [
        Score("dci.disentanglement", disentanglement(importance)),
        Score("dci.completeness", completeness(importance)),
        Score("dci.informativeness_train", float(np.mean(info_train))),
        Score("dci.informativeness_test", float(np.mean(info_test))),
    ]
    scores += [Score("dci.informativeness_test", float(v), name) for v, name in zip(info_test, data.factor_names)]
    return MetricResult(
        scores,
        {
            "importance_matrix": importance.tolist(),
            "estimator": options.estimator,
            "informativeness": "r2" if options.estimator == "lasso" else "accuracy",
        },
    )
