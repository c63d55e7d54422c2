"""InfoMEC: InfoM (modularity), InfoE (explicitness), InfoC (compactness) (Hsu et al. 2023).

As ``disentangle/metrics/infomec.py`` of kylehkhsu/latent_quantization computes them
for continuous codes:

- ``NMI[i, j]``: scikit-learn's kNN mutual information (``mutual_info_classif``, 10
  neighbours) of the standardised code dimension ``j`` with factor ``i``, over the
  factor's plug-in entropy;
- active dimensions: range above 1/20 of the largest range;
- InfoM = (mean over active j of max_i NMI / sum_i NMI - 1/F) / (1 - 1/F): each dimension
  informs about one factor;
- InfoC = (mean over i of max_j NMI / sum_j NMI (active j) - 1/A) / (1 - 1/A): each factor
  is informed about by one dimension (where MIG also looks, but relative to the sum, not
  to the runner-up);
- InfoE = mean over factors of (H_0 - H_z) / H_0, where ``H_z`` is the training log loss
  of an unpenalised multinomial logistic regression (lbfgs, 100 iterations, balanced
  class weights) from the standardised codes and ``H_0`` the same from zero codes: the
  share of each factor's uncertainty a linear read-out removes.

Differences: the reference draws scikit-learn's tie-breaking noise unseeded; here it is
seeded (``random_state``), so the scores repeat. A dimension (for InfoM) or factor (for
InfoC) whose NMI is 0 everywhere, where the reference divides 0 by 0 and returns NaN,
counts as information spread evenly (its normalised share is 0). ``discrete_latents=True`` follows the
reference's branch for quantised codes (plug-in MI, one-hot logistic regression).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from disbench.metrics.base import MetricInput, MetricNotApplicable, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import compact_labels, label_entropy, label_indices, mutual_info_matrix, subsample
from disbench.metrics.r2 import standardise


@dataclass
class InfoMECOptions:
    """Attributes:
    n_neighbors: neighbours of the kNN mutual information (reference: 10).
    random_state: seed of scikit-learn's tie-breaking noise (the reference leaves it unseeded).
    active_fraction: a dimension is active when its range exceeds this share of the largest (1/20).
    max_iter: lbfgs iterations of InfoE's logistic regressions (reference: 100).
    discrete_latents: the codes are quantised (plug-in MI, one-hot codes for InfoE).
    num_train: use at most this many points (seeded subset); ``None`` uses all.
    """

    n_neighbors: int = 10
    random_state: int = 0
    active_fraction: float = 1 / 20
    max_iter: int = 100
    discrete_latents: bool = False
    num_train: int | None = None


def standardised(codes: np.ndarray) -> np.ndarray:
    """Columns to zero mean and unit variance (scikit-learn's StandardScaler; constant columns centred only)."""
    return standardise(codes, codes)[0]


def normalised_mutual_info(
    labels: np.ndarray, sizes: np.ndarray, codes: np.ndarray, options: InfoMECOptions
) -> np.ndarray:
    """``(F, d)`` mutual information of each dimension with each factor over the factor's entropy."""
    if options.discrete_latents:
        code_labels, code_sizes = compact_labels(codes)
        mutual_info = mutual_info_matrix(code_labels, code_sizes, labels, sizes).T
    else:
        from sklearn.feature_selection import mutual_info_classif

        scaled = standardised(codes)
        mutual_info = np.array(
            [
                [
                    mutual_info_classif(
                        scaled[:, [j]], labels[:, i], discrete_features=False,
                        n_neighbors=options.n_neighbors, random_state=options.random_state,
                    )[0]  # fmt: skip
                    for j in range(codes.shape[1])
                ]
                for i in range(labels.shape[1])
            ]
        )
    return mutual_info / label_entropy(labels, sizes)[:, None]


def training_log_loss(features: np.ndarray, labels: np.ndarray, max_iter: int) -> float:
    """Log loss of an unpenalised multinomial logistic regression on the points it was fitted to."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    model = LogisticRegression(C=np.inf, solver="lbfgs", tol=1e-4, max_iter=max_iter, class_weight="balanced")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, labels)
    return float(log_loss(labels, model.predict_proba(features)))


def explicitness(labels: np.ndarray, codes: np.ndarray, options: InfoMECOptions) -> np.ndarray:
    """``(F,)`` share of each factor's log loss that a logistic regression from the codes removes."""
    if options.discrete_latents:
        features = one_hot(codes)
    else:
        features = standardised(codes)
    null = np.zeros_like(codes, dtype=np.float64)
    shares = []
    for i in range(labels.shape[1]):
        marginal = training_log_loss(null, labels[:, i], options.max_iter)
        conditional = training_log_loss(features, labels[:, i], options.max_iter)
        shares.append((marginal - conditional) / marginal)
    return np.array(shares)


def share_of_largest(nmi: np.ndarray, axis: int) -> np.ndarray:
    """``max / sum`` along ``axis``; where every entry is 0 (no information), the uniform share ``1 / n``.

    The reference divides 0 by 0 there (NaN); the uniform share makes that dimension's (or
    factor's) normalised score 0, the score of information spread evenly.
    """
    total = nmi.sum(axis=axis)
    uniform = 1.0 / nmi.shape[axis]
    return np.where(total > 0, nmi.max(axis=axis) / np.where(total > 0, total, 1.0), uniform)


def one_hot(codes: np.ndarray) -> np.ndarray:
    """Each column's distinct values as one-hot columns (scikit-learn's OneHotEncoder, dense)."""
    labels, sizes = compact_labels(codes)
    return np.concatenate([np.eye(int(size))[labels[:, j]] for j, size in enumerate(sizes)], axis=1)


@register_codes_metric(
    "infomec",
    reference="Hsu et al. 2023, Disentanglement via Latent Quantization; latent_quantization infomec.py",
    summary="InfoM / InfoE / InfoC: modularity, linear explicitness and compactness from normalised mutual information",
    options=InfoMECOptions,
)
def compute_infomec(data: MetricInput, options: InfoMECOptions, rng: np.random.Generator) -> MetricResult:
    """``infomec.infom``, ``infomec.infoe`` and ``infomec.infoc``; InfoE per factor too.

    Raises:
        UsageError: invalid codes or factors; MetricNotApplicable: continuous factors, one
            factor, or one active code dimension.
    """
    data = check_metric_input(data)
    if any(f.continuous for f in data.factor_info):
        raise MetricNotApplicable("InfoMEC classifies each factor; it needs discrete factors.")
    if data.factors.shape[1] < 2:
        raise MetricNotApplicable("InfoM normalises by 1 - 1/F; it needs at least two factors.")
    rows = subsample(len(data.codes), options.num_train, rng)
    codes, factors = data.codes[rows], data.factors[rows]
    labels = np.empty(factors.shape, dtype=np.int64)
    sizes = np.empty(factors.shape[1], dtype=np.int64)
    for column in range(factors.shape[1]):
        labels[:, column], sizes[column] = label_indices(factors[:, column])
    nmi = normalised_mutual_info(labels, sizes, codes, options)
    ranges = codes.max(axis=0) - codes.min(axis=0)
    active = ranges > 0 if options.discrete_latents else ranges > ranges.max() * options.active_fraction
    num_factors, num_active = factors.shape[1], int(active.sum())
    if num_active < 2:
        raise MetricNotApplicable(f"InfoC normalises by 1 - 1/A over active dimensions; the codes have {num_active}.")
    pruned = nmi[:, active]
    infom = (np.mean(share_of_largest(pruned, axis=0)) - 1 / num_factors) / (1 - 1 / num_factors)
    infoc = (np.mean(share_of_largest(pruned, axis=1)) - 1 / num_active) / (1 - 1 / num_active)
    infoe = explicitness(labels, codes, options)
    scores = [Score("infomec.infom", float(infom)), Score("infomec.infoc", float(infoc))]
    scores += [Score("infomec.infoe", float(e), name) for e, name in zip(infoe, data.factor_names)]
    scores.append(Score("infomec.infoe", float(infoe.mean())))
    return MetricResult(
        scores,
        {"nmi": nmi.tolist(), "active_dimensions": np.flatnonzero(active).tolist(), "factors": data.factor_names},
    )
