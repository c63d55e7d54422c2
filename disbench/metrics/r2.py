"""R^2 of predicting each factor from one space's codes (von Kugelgen et al. 2021's protocol).

As the reference evaluates (ssl_identifiability, ``main_mlp.py`` with
``disentanglement_utils.py``):

- **points**: the regressors are fitted on ``num_fit`` fresh points (5 x 4,096 =
  20,480) and scored on ``num_score_batches`` other batches of ``score_batch`` fresh
  points (10 x 4,096); the score is the mean of the batches' R^2. Fresh points are drawn
  through the run's encoder (:attr:`MetricInput.draw`); codes files, which have no
  encoder, use their given train/test split (one batch), and ``details["points"]`` says which;
- codes and factor values are standardised with the fit points' mean and standard
  deviation (scikit-learn's ``StandardScaler``);
- ``r2.linear``: least squares with an intercept (``LinearRegression``);
- ``r2.kernel``: RBF kernel ridge with ``alpha`` in (1, 0.1, 0.01, 0.001) and ``gamma`` in
  ``np.logspace(-2, 2, 4)``, chosen by one joint 3-fold grid search (unshuffled folds, as
  ``GridSearchCV(cv=3)``) per factor group: the reference searches once for its content
  block and once for its style block, scoring the mean R^2 over the block's factors.

A high R^2 means the factor is (linearly / non-linearly) recoverable from the
space: content factors should score near 1 in the content space and style
factors near 0 there.

Variants (each a named option, recorded in the row's ``metric_options``):
``kernel_max_samples`` fits the kernel ridge on a seeded subset (the quick-full suite's 2,000,
with the cubic cost that much smaller); ``search="factor"`` chooses (alpha, gamma) per
factor; ``points="given"`` scores the evaluation's own train/test points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
import scipy.linalg

from disbench.datasets.base import Factor
from disbench.metrics.base import MetricInput, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import single_blas_thread, subsample

#: the reference's kernel ridge grid (``disentanglement_utils.nonlinear_disentanglement``)
REFERENCE_ALPHAS = (1.0, 0.1, 0.01, 0.001)
REFERENCE_GAMMAS = tuple(float(g) for g in np.logspace(-2, 2, 4))
#: kernel ridge fit points of the cheaper variant the quick-full suite uses
FAST_KERNEL_SAMPLES = 2_000


@dataclass
class R2Options:
    """Attributes:
    points: ``"fresh"``: fit on ``num_fit`` new points and score ``num_score_batches`` new
        batches of ``score_batch`` (the reference), drawn through the encoder when the
        evaluation has one, else the given split; ``"given"``: the evaluation's train/test points.
    num_fit: fresh points the regressions are fitted on (reference: 5 x 4,096); unless
        set, at most ``--n-eval`` (the evaluation budget), so ``disbench eval``'s default
        10,000 fits on 10,000: ``--set r2.num_fit=20480`` (or ``--n-eval 20480``) for the reference.
    score_batch: fresh points per scored batch (reference: 4,096); unless set, at most ``--n-test``.
    num_score_batches: fresh batches scored; the score is their mean R^2 (reference: 10).
    kernel_max_samples: fit points the kernel ridge uses, at most (``None``: all, the
        reference; the quick-full suite's cheaper variant: 2,000, a seeded subset).
    search: ``"group"``: one (alpha, gamma) per factor group by the group's mean R^2 (the
        reference's content and style blocks); ``"factor"``: one per factor.
    alphas: kernel ridge regularisation grid.
    gammas: RBF width grid.
    """

    points: Literal["fresh", "given"] = "fresh"
    num_fit: int = field(default=5 * 4_096, metadata={"budget": "n_eval"})
    score_batch: int = field(default=4_096, metadata={"budget": "n_test"})
    num_score_batches: int = 10
    kernel_max_samples: int | None = None
    search: Literal["group", "factor"] = "group"
    alphas: tuple[float, ...] = REFERENCE_ALPHAS
    gammas: tuple[float, ...] = REFERENCE_GAMMAS

    def __post_init__(self) -> None:
        if self.points not in ("fresh", "given"):
            raise ValueError(f"points must be 'fresh' or 'given', got {self.points!r}")
        if self.search not in ("group", "factor"):
            raise ValueError(f"search must be 'group' or 'factor', got {self.search!r}")
        if self.num_fit < 6 or self.score_batch < 2 or self.num_score_batches < 1:
            raise ValueError("num_fit must be at least 6 (3 folds of 2 points), score_batch at least 2, num_score_batches at least 1")
        if self.kernel_max_samples is not None and self.kernel_max_samples < 6:
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


class NumpyKernels:
    """Kernel ridge's cubic steps in NumPy / SciPy float64 (the default, on the CPU)."""

    @staticmethod
    def asarray(x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def numpy(x: np.ndarray) -> np.ndarray:
        return x

    @staticmethod
    def rbf_kernel(a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
        """``exp(-gamma |a_i - b_j|^2)`` built in one ``len(a) x len(b)`` array."""
        kernel = a @ b.T
        kernel *= -2.0
        kernel += (a * a).sum(1)[:, None]
        kernel += (b * b).sum(1)[None, :]
        np.maximum(kernel, 0.0, out=kernel)
        kernel *= -gamma
        return np.exp(kernel, out=kernel)

    @staticmethod
    def solve(kernel: np.ndarray, alpha: float, y: np.ndarray, overwrite: bool = False) -> np.ndarray:
        """``(kernel + alpha I)^-1 y`` by Cholesky; ``overwrite``: ``kernel`` may serve as the workspace."""
        regularised = kernel if overwrite else kernel.copy()
        regularised[np.diag_indices_from(regularised)] += alpha
        factor = scipy.linalg.cho_factor(regularised, overwrite_a=True, check_finite=False)
        return scipy.linalg.cho_solve(factor, y, check_finite=False)


class TorchKernels:
    """The same steps in torch float64 on ``device``: the evaluation's GPU, where the cubic
    solve of 10,000 fit points takes seconds instead of minutes (the same arithmetic,
    equal to the NumPy path to 1e-6, tested on the CPU)."""

    def __init__(self, device: str):
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def asarray(self, x: np.ndarray):
        return self.torch.as_tensor(np.ascontiguousarray(x, dtype=np.float64), device=self.device)

    @staticmethod
    def numpy(x) -> np.ndarray:
        return x.cpu().numpy()

    @staticmethod
    def rbf_kernel(a, b, gamma: float):
        kernel = a @ b.T
        kernel.mul_(-2.0).add_((a * a).sum(1)[:, None]).add_((b * b).sum(1)[None, :]).clamp_(min=0.0)
        return kernel.mul_(-gamma).exp_()

    def solve(self, kernel, alpha: float, y, overwrite: bool = False):
        regularised = kernel if overwrite else kernel.clone()
        regularised.diagonal().add_(alpha)
        factor = self.torch.linalg.cholesky(regularised)
        return self.torch.cholesky_solve(y, factor)


def kernel_backend(torch_device: str | None):
    """:class:`NumpyKernels` for ``None``, else :class:`TorchKernels` on that torch device."""
    return NumpyKernels() if torch_device is None else TorchKernels(torch_device)


def kernel_grid_search(
    x: np.ndarray,
    y: np.ndarray,
    alphas: Sequence[float],
    gammas: Sequence[float],
    groups: Sequence | None = None,
    torch_device: str | None = None,
) -> np.ndarray:
    """(alpha, gamma) per factor ``(F, 2)`` by 3-fold cross-validated R^2 (unshuffled folds, as ``GridSearchCV(cv=3)``).

    Args:
        x, y: ``(n, d)`` codes and ``(n, F)`` targets.
        groups: a label per factor: factors sharing a label share one choice, the best mean
            R^2 over them (``GridSearchCV`` on a multi-output target, the reference); None: per factor.
        torch_device: run the kernels and solves in torch there (None: NumPy / SciPy).

    Each fold's kernels are built once per gamma and serve every alpha and every factor (one
    Cholesky per alpha: one eigendecomposition per kernel would serve every alpha, but it
    costs about ten Choleskys, measured at 1,333 points: 0.65 s against 0.06 s, more than
    the grid's four); memory peaks at about three ``(2n/3)^2`` arrays.
    """
    linalg = kernel_backend(torch_device)
    folds = np.array_split(np.arange(len(x)), 3)
    grid = [(a, g) for a in alphas for g in gammas]
    cv_score = np.zeros((len(alphas), len(gammas), y.shape[1]))
    for held_out in folds:
        fit = np.setdiff1d(np.arange(len(x)), held_out)
        x_fit, y_fit, x_held_out = linalg.asarray(x[fit]), linalg.asarray(y[fit]), linalg.asarray(x[held_out])
        for j, gamma in enumerate(gammas):
            kernel, cross = linalg.rbf_kernel(x_fit, x_fit, gamma), linalg.rbf_kernel(x_held_out, x_fit, gamma)
            for i, alpha in enumerate(alphas):
                predicted = linalg.numpy(cross @ linalg.solve(kernel, alpha, y_fit))
                cv_score[i, j] += r2_scores(y[held_out], predicted) / len(folds)
            del kernel, cross
    cv_score = cv_score.reshape(len(grid), -1)
    if groups is not None:
        labels = np.asarray(groups)
        for label in np.unique(labels):
            members = labels == label
            cv_score[:, members] = cv_score[:, members].mean(axis=1, keepdims=True)
    best = np.argmax(cv_score, axis=0)  # first best in (alpha, gamma) order, as GridSearchCV
    return np.array([grid[i] for i in best])


def kernel_ridge_predict(
    x_fit, y_fit, x_new_batches: Sequence[np.ndarray], alpha: float, gamma: float, torch_device: str | None = None
) -> list[np.ndarray]:
    """Kernel ridge fitted on ``(x_fit, y_fit)``, predictions for each batch of new points.

    The fit kernel is built, regularised and factorised in one array (about ``n^2`` floats).
    ``torch_device``: run it in torch there (None: NumPy / SciPy).
    """
    linalg = kernel_backend(torch_device)
    x_fit = linalg.asarray(x_fit)
    weights = linalg.solve(linalg.rbf_kernel(x_fit, x_fit, gamma), alpha, linalg.asarray(y_fit), overwrite=True)
    return [linalg.numpy(linalg.rbf_kernel(linalg.asarray(batch), x_fit, gamma) @ weights) for batch in x_new_batches]


def kernel_r2(x_train, y_train, x_test, y_test, alphas, gammas, groups=None) -> tuple[np.ndarray, np.ndarray]:
    """Test R^2 ``(F,)`` of RBF kernel ridge after :func:`kernel_grid_search`, and the chosen ``(alpha, gamma)`` ``(F, 2)``."""
    scores, chosen = kernel_r2_batches(x_train, y_train, [x_test], [y_test], alphas, gammas, groups)
    return scores, chosen


def kernel_r2_batches(
    x_fit, y_fit, x_batches, y_batches, alphas, gammas, groups=None, torch_device: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean over batches of the test R^2 ``(F,)`` of kernel ridge, and the chosen ``(alpha, gamma)`` ``(F, 2)``.

    ``torch_device``: run the kernels and solves in torch there (None: NumPy / SciPy).
    """
    chosen = kernel_grid_search(x_fit, y_fit, alphas, gammas, groups, torch_device)
    scores = np.zeros(y_fit.shape[1])
    for params in np.unique(chosen, axis=0):
        columns = np.all(chosen == params, axis=1)
        predictions = kernel_ridge_predict(x_fit, y_fit[:, columns], x_batches, *params, torch_device=torch_device)
        scores[columns] = np.mean([r2_scores(y[:, columns], p) for y, p in zip(y_batches, predictions)], axis=0)
    return scores, chosen


def draw_points(data: MetricInput, options: R2Options, rng: np.random.Generator):
    """``(fit codes, fit factors, score code batches, score factor batches, which)`` for :func:`compute_r2`."""
    if options.points == "fresh" and data.draw is not None:
        fit_codes, fit_factors = data.draw(options.num_fit, rng)
        batches = [data.draw(options.score_batch, rng) for _ in range(options.num_score_batches)]
        return fit_codes, fit_factors, [b[0] for b in batches], [b[1] for b in batches], "fresh"
    train_codes, train_factors, test_codes, test_factors = data.train_test(rng)
    return train_codes, train_factors, [test_codes], [test_factors], "given"


@register_codes_metric(
    "r2",
    value_range=(float("-inf"), 1.0),
    reference="von Kugelgen et al. 2021, Self-Supervised Learning with Data Augmentations Provably Isolates Content from Style",
    summary="R^2 of linear and RBF kernel ridge regression from the codes to each factor",
    options=R2Options,
)
def compute_r2(data: MetricInput, options: R2Options, rng: np.random.Generator) -> MetricResult:
    """Linear and kernel R^2 of every factor from the codes (module docstring).

    Args:
        data: codes and factors (the held-out split if given, else a seeded split), and
            ``draw`` for fresh points when the evaluation has the encoder.
        options: :class:`R2Options`.
        rng: draws the fresh points, the split and the kernel subset.

    Returns:
        ``r2.linear`` and ``r2.kernel`` per factor and averaged (factor ``"all"``); details hold
        the chosen kernel parameters, the mean per factor group, and the points used.

    Raises:
        UsageError: invalid input.
    """
    data = check_metric_input(data)
    fit_codes, fit_factors, score_codes, score_factors, which = draw_points(data, options, rng)
    x_fit, _ = standardise(fit_codes, fit_codes)
    y_fit, _ = standardise(fit_factors, fit_factors)
    x_batches = [standardise(fit_codes, batch)[1] for batch in score_codes]
    y_batches = [standardise(fit_factors, batch)[1] for batch in score_factors]
    linear = np.mean([linear_r2(x_fit, y_fit, x, y) for x, y in zip(x_batches, y_batches)], axis=0)
    kernel_rows = subsample(len(x_fit), options.kernel_max_samples, rng)
    groups = [f.group for f in data.factor_info] if options.search == "group" else None
    # on a GPU evaluation the cubic solves run there, in torch (same result to 1e-6)
    torch_device = data.device if data.device.startswith("cuda") else None
    with single_blas_thread():
        kernel, chosen = kernel_r2_batches(
            x_fit[kernel_rows], y_fit[kernel_rows], x_batches, y_batches, options.alphas, options.gammas, groups,
            torch_device,
        )
    scores = []
    for name, values in (("r2.linear", linear), ("r2.kernel", kernel)):
        scores += [Score(name, float(v), factor) for v, factor in zip(values, data.factor_names)]
        scores.append(Score(name, float(values.mean())))
    group_names = sorted({f.group for f in data.factor_info})
    group_mean = {
        name: {g: float(np.mean([v for v, f in zip(values, data.factor_info) if f.group == g])) for g in group_names}
        for name, values in (("r2.linear", linear), ("r2.kernel", kernel))
    }
    details = {
        "kernel_alpha_gamma": chosen.tolist(),
        "group_mean": group_mean,
        "points": which,
        "fit_samples": int(len(x_fit)),
        "kernel_samples": int(len(x_fit[kernel_rows])),
        "score_batches": [int(len(x)) for x in x_batches],
        "kernel_device": torch_device or "cpu",
    }
    return MetricResult(scores, details)


def r2_matrix(
    train_spaces: dict[str, np.ndarray],
    train_factors: np.ndarray,
    test_spaces: dict[str, np.ndarray],
    test_factors: np.ndarray,
    factors: list[Factor],
    kind: str = "kernel",
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """R^2 of every factor group from every space: the matrix the multi-space claims are stated in.

    The ``r2`` metric at its defaults on each space, averaged over the factors of each group.
    Used by the self-supervised methods' tests and by ``benchmarks/ssl_synthetic_r2.py``.

    Args:
        train_spaces, test_spaces: space name -> codes ``(n, d)``.
        train_factors, test_factors: ``(n, F)`` factor values.
        factors: the dataset's factors (their ``group`` names the columns of the matrix).
        kind: ``kernel`` (RBF kernel ridge) or ``linear``.
        seed: seeds the metric's subsets.

    Returns:
        ``{space: {group: mean R^2 over the group's factors}}``.
    """
    if kind not in ("kernel", "linear"):
        raise ValueError(f"kind must be 'kernel' or 'linear', got {kind!r}")
    matrix = {}
    for space, codes in train_spaces.items():
        data = MetricInput(codes, train_factors, list(factors), test_spaces[space], test_factors)
        result = compute_r2(data, R2Options(), np.random.default_rng(seed))
        matrix[space] = result.details["group_mean"][f"r2.{kind}"]
    return matrix
