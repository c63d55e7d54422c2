"""Downstream task: how well, and from how few examples, the codes predict each factor.

disentanglement_lib's ``downstream_task`` (Locatello et al. 2019, Sec. 5.4): for each
training-set size ``n`` in ``train_sizes`` (10, 100, 1,000, 10,000) a classifier per
factor is fitted on ``n`` codes and scored by accuracy on ``num_test`` (5,000) held-out
codes. dlib has two predictors, each its own metric config:

- ``logistic-regression-cv``: ``LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))`` on the
  raw codes (no standardisation, as dlib);
- ``gradient-boosting``: ``GradientBoostingClassifier()`` (default settings), computed by the
  same boosted-tree estimator as DCI (:mod:`disbench.metrics.gbt_exact`).

Scores (one row per predictor, train size and factor, plus the mean over factors as
factor ``"all"``, dlib's ``mean_test_accuracy``):

- ``downstream.<predictor>@<n>``: test accuracy with ``n`` training points;
- ``downstream.<predictor>.sample-efficiency``: accuracy at 100 points divided by accuracy
  at 10,000 points (Locatello et al. 2019's sample efficiency; computed from the mean
  accuracies for ``"all"``), when both sizes are among ``train_sizes``.

dlib draws a fresh sample of ``n`` points for each size; here the ``n`` points are the first
``n`` of one seeded permutation of the evaluation points (the same distribution: the
points are i.i.d.), so the sizes are nested. A size larger than the available training
points is skipped (a score labelled with 10,000 points must have seen them) and listed in
the details; the default protocol's 10,000 points cover every size. Continuous factors are binned into
``continuous_factor_bins`` equal-width bins first (dlib takes discrete factors only).

dlib ran scikit-learn 0.2x, whose ``LogisticRegressionCV`` fitted one-vs-rest models; the
current scikit-learn (>= 0.22) fits a multinomial model, which this module uses (what
dlib's code computes when run today).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from disbench.metrics.base import (
    AGGREGATE,
    MetricInput,
    MetricResult,
    Score,
    check_metric_input,
    register_codes_metric,
)
from disbench.metrics.discretize import histogram_discretize, single_blas_thread

PREDICTORS = ("logistic-regression-cv", "gradient-boosting")
SHORT_NAMES = {"logistic-regression-cv": "lr", "gradient-boosting": "gbt"}


@dataclass
class DownstreamOptions:
    """Attributes:
    train_sizes: training-set sizes, comma-separated (dlib: 10,100,1000,10000).
    num_test: test points at most (dlib: 5,000).
    predictor: ``both`` (default), ``logistic-regression-cv`` or ``gradient-boosting``.
    continuous_factor_bins: equal-width bins for continuous factors.
    """

    train_sizes: str = "10,100,1000,10000"
    num_test: int = 5_000
    predictor: str = "both"
    continuous_factor_bins: int = 20

    def __post_init__(self) -> None:
        sizes = self.sizes()
        if any(size < 2 for size in sizes) or len(set(sizes)) != len(sizes):
            raise ValueError(f"train_sizes must be distinct integers >= 2, got {self.train_sizes!r}")
        if self.num_test < 1:
            raise ValueError(f"num_test must be at least 1, got {self.num_test}")
        if self.predictor not in ("both", *PREDICTORS):
            raise ValueError(f"predictor must be both, {' or '.join(PREDICTORS)}; got {self.predictor!r}")

    def sizes(self) -> list[int]:
        try:
            return sorted(int(part) for part in str(self.train_sizes).split(",") if part.strip())
        except ValueError:
            raise ValueError(f"train_sizes must be comma-separated integers, got {self.train_sizes!r}") from None

    def predictors(self) -> list[str]:
        return list(PREDICTORS) if self.predictor == "both" else [self.predictor]


def logistic_regression_cv_accuracy(
    train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray, test_labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """dlib's logistic-regression predictor, one per factor column: (train accuracy, test accuracy, converged)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    train_accuracy, test_accuracy, converged = [], [], []
    for k in range(train_labels.shape[1]):
        classes = np.unique(train_labels[:, k])
        if len(classes) == 1:
            # a tiny sample can hold one class; scikit-learn refuses it (dlib would stop), the
            # only sensible prediction is that class
            train_accuracy.append(1.0)
            test_accuracy.append(np.mean(test_labels[:, k] == classes[0]))
            converged.append(True)
            continue
        model = LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))
        with single_blas_thread(), warnings.catch_warnings(record=True) as caught:
            # scikit-learn announces future changes of defaults; the defaults used are dlib's
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(train_codes, train_labels[:, k])
        converged.append(not any(issubclass(w.category, ConvergenceWarning) for w in caught))
        train_accuracy.append(np.mean(model.predict(train_codes) == train_labels[:, k]))
        test_accuracy.append(np.mean(model.predict(test_codes) == test_labels[:, k]))
    return np.asarray(train_accuracy), np.asarray(test_accuracy), converged


def gradient_boosting_accuracy(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``GradientBoostingClassifier()`` per factor column, by DCI's estimator: (train accuracy, test accuracy)."""
    from disbench.datasets.base import Factor
    from disbench.metrics.dci import DCIOptions, gbt_importances

    info = [Factor(f"factor[{k}]", "content", int(train_labels[:, k].max()) + 1) for k in range(train_labels.shape[1])]
    _, train_accuracy, test_accuracy = gbt_importances(
        train_codes, train_labels, test_codes, test_labels, info, DCIOptions(), rng
    )
    return np.asarray(train_accuracy), np.asarray(test_accuracy)


def _class_targets(data: MetricInput, train: np.ndarray, test: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Factor columns as class labels; continuous factors binned on the union of both splits."""
    train, test = train.astype(np.float64), test.astype(np.float64)
    for k, info in enumerate(data.factor_info):
        if info.continuous:
            both = histogram_discretize(np.concatenate([train[:, k], test[:, k]])[:, None], bins)[:, 0]
            train[:, k], test[:, k] = both[: len(train)], both[len(train) :]
    return train.astype(np.int64), test.astype(np.int64)


@register_codes_metric(
    "downstream",
    reference="Locatello et al. 2019, Challenging Common Assumptions in the Unsupervised Learning of "
    "Disentangled Representations (Sec. 5.4); dlib downstream_task.py",
    summary="Downstream accuracy per factor from 10 to 10,000 training points, and sample efficiency (acc@100 / acc@10,000)",
    options=DownstreamOptions,
)
def compute_downstream(data: MetricInput, options: DownstreamOptions, rng: np.random.Generator) -> MetricResult:
    """Downstream test accuracy of each predictor at each training-set size.

    Args:
        data: codes and factors; the held-out split if given, else a seeded split.
        options: :class:`DownstreamOptions`.
        rng: draws the split, the order of the training points and the trees' tie-breaks.

    Returns:
        ``downstream.<lr|gbt>@<n>`` per factor and averaged (factor ``"all"``), and
        ``downstream.<lr|gbt>.sample-efficiency``; details hold train accuracies, the sizes
        actually used, and whether each logistic regression converged.

    Raises:
        UsageError: invalid codes or factors.
    """
    data = check_metric_input(data)
    train_codes, train_factors, test_codes, test_factors = data.train_test(rng)
    order = rng.permutation(len(train_codes))
    test_rows = rng.permutation(len(test_codes))[: options.num_test]
    train_labels, test_labels = _class_targets(data, train_factors, test_factors, options.continuous_factor_bins)
    x_test, y_test = test_codes[test_rows], test_labels[test_rows]
    names = data.factor_names
    scores: list[Score] = []
    details: dict = {"num_test": len(x_test), "train_accuracy": {}, "lbfgs_converged": {}}
    for predictor in options.predictors():
        short = SHORT_NAMES[predictor]
        mean_accuracy: dict[int, float] = {}
        per_factor: dict[int, np.ndarray] = {}
        for size in options.sizes():
            if size > len(order):
                details.setdefault("sizes_skipped", {})[str(size)] = f"only {len(order)} training points"
                continue
            rows = order[:size]
            x_train, y_train = train_codes[rows], train_labels[rows]
            if predictor == "logistic-regression-cv":
                train_accuracy, test_accuracy, converged = logistic_regression_cv_accuracy(x_train, y_train, x_test, y_test)
                details["lbfgs_converged"][str(size)] = dict(zip(names, converged))
            else:
                train_accuracy, test_accuracy = gradient_boosting_accuracy(x_train, y_train, x_test, y_test, rng)
            details["train_accuracy"][f"{short}@{size}"] = dict(zip(names, train_accuracy.tolist()))
            metric = f"downstream.{short}@{size}"
            scores += [Score(metric, float(a), name) for a, name in zip(test_accuracy, names)]
            scores.append(Score(metric, float(np.mean(test_accuracy)), AGGREGATE))
            mean_accuracy[size], per_factor[size] = float(np.mean(test_accuracy)), test_accuracy
        if 100 in mean_accuracy and 10_000 in mean_accuracy:
            metric = f"downstream.{short}.sample-efficiency"
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = per_factor[100] / per_factor[10_000]
            scores += [Score(metric, float(r), name) for r, name in zip(ratio, names)]
            scores.append(Score(metric, mean_accuracy[100] / mean_accuracy[10_000], AGGREGATE))
    return MetricResult(scores, details)
