"""R^2 of predicting each factor from one space's codes (von Kugelgen et al. 2021's protocol).

Codes and factor values are standardised with the train split's mean and
standard deviation. Two regressors per factor, scored by R^2 on the test split:

- ``r2.linear``: ordinary least squares on all train points;
- ``r2.kernel``: RBF kernel ridge, ``alpha`` and ``gamma`` chosen per factor by
  3-fold cross-validation (unshuffled folds, as ``GridSearchCV(cv=3)``) over
  ``alphas x gammas`` (ssl_identifiability's grid), fitted on at most
  ``kernel_max_samples`` train points (a seeded subset) to keep the cubic cost
  bounded; all factors share each kernel factorisation.

A high R^2 means the factor is (linearly / non-linearly) recoverable from the
space: content factors should score near 1 in the content space and style
factors near 0 there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from disbench.metrics.base import MetricInput, MetricResult, Score, check_metric_input, register_metric
from disbench.metrics.discretize import single_blas_thread, subsample


@dataclass
class R2Options:
    """Attributes:
    kernel_max_samples: train points the kernel ridge is fitted on, at most.
    num_train: train points for the linear regression, at most (``None``: all).
    num_test: test points, at most.
    alphas: kernel ridge regularisation grid.
    gammas: RBF width grid.
    """

    kernel_max_samples: int = 2_000
    num_train: int | None = None
    num_test: int | None = 5_000
    alphas: tuple[float, ...] = (1.0, 0.1, 0.01, 0.001)
    gammas: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)

    def __post_init__(self) -> None:
        if self.kernel_max_samples < 6:
            raise ValueError("kernel_max_samples must be at least 6 (3 folds of 2 points)")
        if not self.alphas or not self.gammas or min(self.alphas) <= 0 or min(self.gammas) <= 0:
            raise ValueError("alphas and gammas must be non-empty lists of positive numbers")


def r2_scores(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """R^2 of each column ``(F,)`` (scikit-learn's ``r2_score``, one output at a time)."""
    residual = ((truth - predicted) ** 2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 1.0 - residual / total, 0.0)


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays scaled with the train array's column mean and standard deviation (constant columns: std 1)."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def linear_r2(x_train, y_train, x_test, y_test, alpha: float = 0.0) -> np.ndarray:
    """Test R^2 ``(F,)`` of least squares with an intercept, all factors at once.

    With ``alpha > 0`` it is ridge regression (``alpha ||w||^2`` added, the intercept not
    penalised): the centred problem stacked over ``sqrt(alpha) I`` rows, solved by the same
    least squares.
    """
    if alpha > 0:
        x_mean, y_mean = x_train.mean(axis=0), y_train.mean(axis=0)
        design = np.vstack([x_train - x_mean, np.sqrt(alpha) * np.eye(x_train.shape[1])])
        targets = np.vstack([y_train - y_mean, np.zeros((x_train.shape[1], y_train.shape[1]))])
        coef, *_ = np.linalg.lstsq(design, targets, rcond=None)
        return r2_scores(y_test, (x_test - x_mean) @ coef + y_mean)
    design = np.hstack([x_train, np.ones((len(x_train), 1))])
    coef, *_ = np.linalg.lstsq(design, y_train, rcond=None)
    return r2_scores(y_test, np.hstack([x_test, np.ones((len(x_test), 1))]) @ coef)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` squared Euclidean distances (in place: one ``len(a) x len(b)`` array)."""
    sq = a @ b.T
    sq *= -2.0
    sq += (a * a).sum(1)[:, None]
    sq += (b * b).sum(1)[None, :]
    return np.maximum(sq, 0.0, out=sq)


def _rbf_of_distances(distances: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma * distances)`` with one new array."""
    kernel = np.multiply(distances, -gamma)
    return np.exp(kernel, out=kernel)


def _kernel_ridge_predictions(kernel, cross, y_fit, alphas) -> list[np.ndarray]:
    """Kernel ridge predictions ``cross (kernel + alpha I)^-1 y_fit`` for each alpha (one Cholesky each).

    One eigendecomposition per kernel would serve every alpha, but it costs about ten
    Choleskys (measured at 1,333 points: 0.65 s against 0.06 s), more than the grid's four.
    """
    diagonal = np.diag_indices_from(kernel)
    predictions = []
    for alpha in alphas:
        regularised = kernel.copy()
        regularised[diagonal] += alpha
        factor = scipy.linalg.cho_factor(regularised, overwrite_a=True, check_finite=False)
        predictions.append(cross @ scipy.linalg.cho_solve(factor, y_fit, check_finite=False))
    return predictions


def kernel_r2(x_train, y_train, x_test, y_test, alphas, gammas) -> tuple[np.ndarray, np.ndarray]:
    """Test R^2 ``(F,)`` of RBF kernel ridge with per-factor 3-fold grid search, and the chosen ``(alpha, gamma)`` ``(F, 2)``.

    The folds' kernels are blocks of the full train kernel, so each gamma takes one
    exponential of the squared distances, computed once.
    """
    folds = np.array_split(np.arange(len(x_train)), 3)
    grid = [(a, g) for a in alphas for g in gammas]
    cv_score = np.zeros((len(alphas), len(gammas), y_train.shape[1]))
    distances = _squared_distances(x_train, x_train)
    for j, gamma in enumerate(gammas):
        kernel = _rbf_of_distances(distances, gamma)
        for held_out in folds:
            fit = np.setdiff1d(np.arange(len(x_train)), held_out)
            predictions = _kernel_ridge_predictions(
                kernel[np.ix_(fit, fit)], kernel[np.ix_(held_out, fit)], y_train[fit], alphas
            )
            for i, predicted in enumerate(predictions):
                cv_score[i, j] += r2_scores(y_train[held_out], predicted) / len(folds)
    best = np.argmax(cv_score.reshape(len(grid), -1), axis=0)  # first best in (alpha, gamma) order, as GridSearchCV
    scores = np.zeros(y_train.shape[1])
    test_distances = _squared_distances(x_test, x_train)
    for i in np.unique(best):
        columns = best == i
        alpha, gamma = grid[i]
        kernel, cross = _rbf_of_distances(distances, gamma), _rbf_of_distances(test_distances, gamma)
        (predicted,) = _kernel_ridge_predictions(kernel, cross, y_train[:, columns], [alpha])
        scores[columns] = r2_scores(y_test[:, columns], predicted)
    return scores, np.array([grid[i] for i in best])


@register_metric(
    "r2",
    value_range=(float("-inf"), 1.0),
    reference="von Kugelgen et al. 2021, Self-Supervised Learning with Data Augmentations Provably Isolates Content from Style",
    summary="R^2 of linear and RBF kernel ridge regression from the codes to each factor",
    options=R2Options,
)
def compute_r2(data: MetricInput, options: R2Options, rng: np.random.Generator) -> MetricResult:
    """Linear and kernel R^2 of every factor from the codes.

    Args:
        data: codes and factors; the held-out split if given, else a seeded split.
        options: :class:`R2Options`.
        rng: draws the split and subsets.

    Returns:
        ``r2.linear`` and ``r2.kernel`` per factor and averaged (factor ``"all"``); details hold
        the chosen kernel parameters and the mean per factor group.

    Raises:
        UsageError: invalid input.
    """
    data = check_metric_input(data)
    train_codes, train_factors, test_codes, test_factors = data.train_test(rng)
    train_codes, train_factors = (a[subsample(len(train_codes), options.num_train, rng)] for a in (train_codes, train_factors))
    test_rows = subsample(len(test_codes), options.num_test, rng)
    test_codes, test_factors = test_codes[test_rows], test_factors[test_rows]
    x_train, x_test = standardise(train_codes, test_codes)
    y_train, y_test = standardise(train_factors, test_factors)
    linear = linear_r2(x_train, y_train, x_test, y_test)
    kernel_rows = subsample(len(x_train), options.kernel_max_samples, rng)
    with single_blas_thread():
        kernel, chosen = kernel_r2(x_train[kernel_rows], y_train[kernel_rows], x_test, y_test, options.alphas, options.gammas)
    scores = []
    for name, values in (("r2.linear", linear), ("r2.kernel", kernel)):
        scores += [Score(name, float(v), factor) for v, factor in zip(values, data.factor_names)]
        scores.append(Score(name, float(values.mean())))
    groups = sorted({f.group for f in data.factor_info})
    group_mean = {
        name: {g: float(np.mean([v for v, f in zip(values, data.factor_info) if f.group == g])) for g in groups}
        for name, values in (("r2.linear", linear), ("r2.kernel", kernel))
    }
    return MetricResult(
        scores,
        {"kernel_alpha_gamma": chosen.tolist(), "group_mean": group_mean, "kernel_samples": int(len(x_train[kernel_rows]))},
    )
