"""Explicitness (Ridgeway & Mozer 2018), as in disentanglement_lib.

For each factor a ``LogisticRegression()`` (scikit-learn defaults) predicts the
factor's class from all code dimensions, standardised with the train split's mean
and standard deviation; explicitness is the one-vs-rest ROC-AUC of its class
probabilities (macro average over classes), averaged over factors, on the train
and the test split. Continuous factors are binned into
``continuous_factor_bins`` equal-width bins first (dlib takes discrete factors only).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from disbench.errors import DisbenchError
from disbench.metrics.base import MetricInput, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import histogram_discretize, single_blas_thread, subsample


@dataclass
class ExplicitnessOptions:
    """Attributes:
    num_train: train points at most (dlib: 10,000).
    num_test: test points at most (dlib: 5,000).
    continuous_factor_bins: equal-width bins for continuous factors.
    """

    num_train: int | None = 10_000
    num_test: int | None = 5_000
    continuous_factor_bins: int = 20


def roc_auc_one_vs_rest(labels: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Macro ROC-AUC of each class against the rest, as dlib: ``roc_auc_score`` on the one-hot labels.

    dlib binarises the labels with ``MultiLabelBinarizer`` and calls scikit-learn's
    ``roc_auc_score`` (macro average). Classes absent from ``labels`` (or present in every
    row) are left out: their AUC is undefined (dlib's call fails on them).

    Args:
        labels: ``(n,)`` class of each sample.
        proba: ``(n, K)`` predicted probability of each class in ``classes`` ``(K,)``.

    Raises:
        DisbenchError: no class is both present and absent in ``labels``.
    """
    from sklearn.metrics import roc_auc_score

    indicator = labels[:, None] == classes[None, :]
    usable = indicator.any(axis=0) & ~indicator.all(axis=0)
    if not usable.any():
        raise DisbenchError(
            f"explicitness needs at least two classes among {len(labels)} labels; give more varied factor values"
        )
    return float(roc_auc_score(indicator[:, usable], proba[:, usable], average="macro"))


@register_codes_metric(
    "explicitness",
    reference="Ridgeway & Mozer 2018; dlib modularity_explicitness.py",
    summary="Explicitness: ROC-AUC of a logistic regression from all codes to each factor",
    options=ExplicitnessOptions,
)
def compute_explicitness(data: MetricInput, options: ExplicitnessOptions, rng: np.random.Generator) -> MetricResult:
    """Explicitness of the codes.

    Args:
        data: codes and factors; the held-out split if given, else a seeded split.
        options: :class:`ExplicitnessOptions`.
        rng: draws the split and subsets.

    Returns:
        ``explicitness`` (test AUC) per factor and averaged, plus ``explicitness.train`` averaged.

    Raises:
        UsageError: invalid input.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    data = check_metric_input(data)
    train_codes, train_factors, test_codes, test_factors = data.train_test(rng)
    train_rows = subsample(len(train_codes), options.num_train, rng)
    test_rows = subsample(len(test_codes), options.num_test, rng)
    train_codes, train_factors = train_codes[train_rows], train_factors[train_rows].astype(np.float64)
    test_codes, test_factors = test_codes[test_rows], test_factors[test_rows].astype(np.float64)
    mean, std = train_codes.mean(axis=0), train_codes.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x_train, x_test = (train_codes - mean) / std, (test_codes - mean) / std
    train_auc, test_auc, converged = [], [], []
    for k, info in enumerate(data.factor_info):
        y_train, y_test = train_factors[:, k], test_factors[:, k]
        if info.continuous:
            both = histogram_discretize(np.concatenate([y_train, y_test])[:, None], options.continuous_factor_bins)[:, 0]
            y_train, y_test = both[: len(y_train)], both[len(y_train) :]
        # dlib's LogisticRegression() keeps scikit-learn's 100 lbfgs iterations, which often
        # stop short on many classes; we keep the protocol and record it instead of warning
        with single_blas_thread(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = LogisticRegression().fit(x_train, y_train)
        converged.append(not any(issubclass(w.category, ConvergenceWarning) for w in caught))
        train_auc.append(roc_auc_one_vs_rest(y_train, model.predict_proba(x_train), model.classes_))
        test_auc.append(roc_auc_one_vs_rest(y_test, model.predict_proba(x_test), model.classes_))
    scores = [Score("explicitness", v, name) for v, name in zip(test_auc, data.factor_names)]
    scores += [Score("explicitness", float(np.mean(test_auc))), Score("explicitness.train", float(np.mean(train_auc)))]
    return MetricResult(scores, {"train_auc": train_auc, "test_auc": test_auc, "lbfgs_converged": converged})
