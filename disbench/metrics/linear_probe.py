"""Linear probe: accuracy of a multinomial logistic regression from frozen codes to each label.

The standard evaluation of self-supervised representations (a linear classifier on
the frozen features), as Eastwood et al. 2023 report for the content space on
ImageNet. For each discrete factor, a ``LogisticRegression`` (multinomial, L2
penalty ``C``, lbfgs) is fitted on the codes of the train split, standardised with
that split's mean and standard deviation, and scored by accuracy on the held-out
split. Continuous factors have no classes and are skipped (listed in the details);
a dataset with only continuous factors is not applicable.

For image folders the one factor is the class ``label``, so the score is the label
accuracy of each space: high in the content space, low in style spaces that kept
no class information.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from disbench.errors import UsageError
from disbench.metrics.base import (
    AGGREGATE,
    MetricInput,
    MetricNotApplicable,
    MetricResult,
    Score,
    check_metric_input,
    register_codes_metric,
)
from disbench.metrics.discretize import single_blas_thread, subsample
from disbench.metrics.r2 import standardise


@dataclass
class LinearProbeOptions:
    """Attributes:
    num_train: train points at most (``None``: all).
    num_test: test points at most.
    C: inverse L2 regularisation strength of the logistic regression (scikit-learn's default 1.0).
    max_iter: lbfgs iterations at most (whether each fit converged is recorded).
    factors: classify only these factors (empty: every discrete factor), e.g. the categorical
        ``shape`` of dSprites, where an accuracy is what the paper reports and an R^2 of
        its arbitrary codes 0, 1, 2 is not.
    """

    num_train: int | None = None
    num_test: int | None = 5_000
    C: float = 1.0
    max_iter: int = 1_000
    factors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.C <= 0:
            raise ValueError(f"C must be positive, got {self.C}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be at least 1, got {self.max_iter}")
        if any(limit is not None and limit < 2 for limit in (self.num_train, self.num_test)):
            raise ValueError("num_train and num_test must be at least 2 (or None for all points)")


@register_codes_metric(
    "linear-probe",
    reference="Eastwood et al. 2023, Self-Supervised Disentanglement by Leveraging Structure in Data Augmentations "
    "(linear evaluation of frozen features)",
    summary="Linear probe: held-out accuracy of a multinomial logistic regression from the codes to each discrete factor",
    options=LinearProbeOptions,
)
def compute_linear_probe(data: MetricInput, options: LinearProbeOptions, rng: np.random.Generator) -> MetricResult:
    """Linear-probe accuracy of every discrete factor.

    Args:
        data: codes and factors; the held-out split if given, else a seeded split.
        options: :class:`LinearProbeOptions`.
        rng: draws the split and subsets; seeds the classifier.

    Returns:
        ``linear-probe`` per discrete factor (test accuracy) and their mean (factor ``"all"``);
        details hold train accuracies, the chance level (the most frequent test class), the
        skipped continuous factors and whether lbfgs converged.

    Raises:
        MetricNotApplicable: every factor is continuous.
        UsageError: invalid input.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    discrete = [k for k, info in enumerate(data.factor_info) if not info.continuous]
    if options.factors:
        names = {info.name: k for k, info in enumerate(data.factor_info)}
        unknown = [name for name in options.factors if name not in names or data.factor_info[names[name]].continuous]
        if unknown:
            available = ", ".join(data.factor_info[k].name for k in discrete) or "(none)"
            raise UsageError(
                f"linear-probe.factors names {unknown[0]!r}, which is not a discrete factor here; "
                f"the discrete factors are: {available}."
            )
        discrete = [names[name] for name in options.factors]
    if not discrete:
        raise MetricNotApplicable(
            "the linear probe classifies discrete factors, and every factor here is continuous; use r2 instead."
        )
    data = check_metric_input(data)
    train_codes, train_factors, test_codes, test_factors = data.train_test(rng)
    train_rows = subsample(len(train_codes), options.num_train, rng)
    test_rows = subsample(len(test_codes), options.num_test, rng)
    x_train, x_test = standardise(train_codes[train_rows], test_codes[test_rows])
    train_factors, test_factors = train_factors[train_rows], test_factors[test_rows]
    scores: list[Score] = []
    details: dict = {"train_accuracy": {}, "chance": {}, "lbfgs_converged": {}, "num_train": len(x_train),
                     "num_test": len(x_test),
                     "skipped_continuous": [info.name for info in data.factor_info if info.continuous]}
    for k in discrete:
        name = data.factor_info[k].name
        y_train, y_test = train_factors[:, k].astype(np.int64), test_factors[:, k].astype(np.int64)
        model = LogisticRegression(C=options.C, max_iter=options.max_iter, random_state=int(rng.integers(2**31 - 1)))
        # a probe that stops short is still a probe; record it rather than warn on every space
        with single_blas_thread(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(x_train, y_train)
        details["lbfgs_converged"][name] = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        details["train_accuracy"][name] = float(model.score(x_train, y_train))
        details["chance"][name] = float(np.unique(y_test, return_counts=True)[1].max() / len(y_test))
        scores.append(Score("linear-probe", float(model.score(x_test, y_test)), name))
    scores.append(Score("linear-probe", float(np.mean([s.value for s in scores])), AGGREGATE))
    return MetricResult(scores, details)
