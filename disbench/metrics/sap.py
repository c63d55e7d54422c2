"""SAP score, Separated Attribute Predictability (Kumar et al. 2018), as in disentanglement_lib.

A score matrix ``S`` (code dimensions x factors) holds how well each single code
dimension predicts each factor; SAP is the mean over factors of the gap between
the best and the second-best dimension:

    SAP = 1/K sum_k (S[a, k] - S[b, k]),   a, b the top two dimensions for factor k

- discrete factor: ``S[j, k]`` = test accuracy of ``LinearSVC(C=0.01,
  class_weight="balanced")`` trained on dimension ``j`` alone (the train split),
  computed by :mod:`disbench.metrics.linear_svc`, which runs liblinear's own
  iterations for all dimensions and classes at once (same predictions);
- continuous factor: ``S[j, k]`` = squared Pearson correlation on the train split
  (``ddof=1``), 0 for a dimension with variance below 1e-12.

dlib chooses one of the two for all factors; here each factor uses the rule of
its kind, and the per-factor choice is recorded in the details.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disbench.metrics.base import MetricInput, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import subsample
from disbench.metrics.linear_svc import fit_predict_one_feature_svc
from disbench.metrics.mig import require_dims


@dataclass
class SAPOptions:
    """Attributes:
    num_train: train points at most (seeded subset; dlib: 10,000).
    num_test: test points at most (dlib: 5,000).
    C: LinearSVC inverse regularisation (dlib: 0.01).
    """

    num_train: int | None = 10_000
    num_test: int | None = 5_000
    C: float = 0.01

    def __post_init__(self) -> None:
        if self.C <= 0:
            raise ValueError(f"C must be positive, got {self.C}")


def squared_correlation(codes: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Squared Pearson correlation of each code column with ``factor`` (dlib's ``np.cov`` arithmetic), ``(d,)``."""
    n = len(codes)
    centred = codes - codes.mean(axis=0)
    target = factor - factor.mean()
    covariance = centred.T @ target / (n - 1)
    variance_codes = np.einsum("ij,ij->j", centred, centred) / (n - 1)
    variance_factor = target @ target / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = covariance**2 / (variance_codes * variance_factor)
    return np.where(variance_codes > 1e-12, score, 0.0)


def sap_score_matrix(
    train_codes: np.ndarray,
    train_factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    continuous: list[bool],
    C: float,
) -> np.ndarray:
    """The ``(d, F)`` score matrix of the module docstring."""
    num_dims = train_codes.shape[1]
    matrix = np.zeros((num_dims, len(continuous)))
    orders = [np.argsort(train_codes[:, j], kind="stable") for j in range(num_dims)]
    for k, is_continuous in enumerate(continuous):
        if is_continuous:
            matrix[:, k] = squared_correlation(train_codes, train_factors[:, k].astype(np.float64))
            continue
        classes, labels = np.unique(train_factors[:, k], return_inverse=True)
        predicted = fit_predict_one_feature_svc(train_codes, labels, test_codes, len(classes), C, orders=orders)
        matrix[:, k] = np.mean(classes[predicted] == test_factors[:, k][:, None], axis=0)
    return matrix


@register_codes_metric(
    "sap",
    reference="Kumar et al. 2018, Variational Inference of Disentangled Latent Concepts; dlib sap_score.py",
    summary="SAP: gap between the two code dimensions that best predict each factor alone",
    options=SAPOptions,
)
def compute_sap(data: MetricInput, options: SAPOptions, rng: np.random.Generator) -> MetricResult:
    """SAP score of the codes.

    Args:
        data: codes ``(N, d)`` with ``d >= 2`` and factors; the held-out split if given, else a seeded split.
        options: :class:`SAPOptions`.
        rng: draws the split and subsets.

    Returns:
        ``sap`` per factor and their mean; details hold the ``(d, F)`` score matrix.

    Raises:
        UsageError: invalid codes or factors, or fewer than two code dimensions.
    """
    data = check_metric_input(data)
    require_dims(data.codes, 2, "SAP")
    train_codes, train_factors, test_codes, test_factors = data.train_test(rng)
    train_rows = subsample(len(train_codes), options.num_train, rng)
    test_rows = subsample(len(test_codes), options.num_test, rng)
    continuous = [f.continuous for f in data.factor_info]
    matrix = sap_score_matrix(
        train_codes[train_rows], train_factors[train_rows], test_codes[test_rows], test_factors[test_rows],
        continuous, options.C,
    )
    top_two = -np.sort(-matrix, axis=0)[:2]
    gaps = top_two[0] - top_two[1]
    scores = [Score("sap", float(g), name) for g, name in zip(gaps, data.factor_names)]
    scores.append(Score("sap", float(np.mean(gaps))))
    return MetricResult(
        scores,
        {
            "score_matrix": matrix.tolist(),
            "factor_rule": ["squared_pearson" if c else "linear_svc_accuracy" for c in continuous],
        },
    )
