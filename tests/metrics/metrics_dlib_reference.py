"""Straightforward transcriptions of disentanglement_lib's metric code, used as references.

Each function follows dlib's loops and scikit-learn calls one pair at a time
(``disentanglement_lib/evaluation/metrics/{utils,mig,sap_score,dci,modularity_explicitness,
irs,unsupervised_metrics}.py``), with codes and factors laid out as ``(N, d)`` / ``(N, F)``.
They are slow on purpose: they are what disbench's vectorised versions must equal.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.stats
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import mutual_info_score
from sklearn.svm import LinearSVC


def histogram_discretize(target: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """dlib ``_histogram_discretize`` on ``(N, d)`` (dlib works on ``(d, N)``)."""
    out = np.zeros_like(target)
    for i in range(target.shape[1]):
        out[:, i] = np.digitize(target[:, i], np.histogram(target[:, i], num_bins)[1][:-1])
    return out


def discrete_mutual_info(mus: np.ndarray, ys: np.ndarray) -> np.ndarray:
    m = np.zeros([mus.shape[1], ys.shape[1]])
    for i in range(mus.shape[1]):
        for j in range(ys.shape[1]):
            m[i, j] = mutual_info_score(ys[:, j], mus[:, i])
    return m


def discrete_entropy(ys: np.ndarray) -> np.ndarray:
    return np.array([mutual_info_score(ys[:, j], ys[:, j]) for j in range(ys.shape[1])])


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> float:
    m = discrete_mutual_info(histogram_discretize(codes, num_bins), factors)
    entropy = discrete_entropy(factors)
    sorted_m = np.sort(m, axis=0)[::-1]
    return float(np.mean(np.divide(sorted_m[0, :] - sorted_m[1, :], entropy[:])))


def sap(codes, factors, test_codes, test_factors, continuous: bool) -> float:
    score = np.zeros([codes.shape[1], factors.shape[1]])
    for i in range(codes.shape[1]):
        for j in range(factors.shape[1]):
            mu_i, y_j = codes[:, i], factors[:, j]
            if continuous:
                cov = np.cov(mu_i, y_j, ddof=1)
                score[i, j] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1]) if cov[0, 0] > 1e-12 else 0.0
            else:
                classifier = LinearSVC(C=0.01, class_weight="balanced")
                classifier.fit(mu_i[:, np.newaxis], y_j)
                pred = classifier.predict(test_codes[:, i][:, np.newaxis])
                score[i, j] = np.mean(pred == test_factors[:, j])
    ordered = np.sort(score, axis=0)
    return float(np.mean(ordered[-1, :] - ordered[-2, :]))


def dci(codes, factors, test_codes, test_factors, seed: int = 0) -> dict[str, float]:
    """dlib ``compute_importance_gbt`` + ``disentanglement`` + ``completeness``, with a seeded GBT."""
    importance = np.zeros([codes.shape[1], factors.shape[1]])
    train_acc, test_acc = [], []
    for i in range(factors.shape[1]):
        model = GradientBoostingClassifier(random_state=seed)
        model.fit(codes, factors[:, i])
        importance[:, i] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(codes) == factors[:, i]))
        test_acc.append(np.mean(model.predict(test_codes) == test_factors[:, i]))
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    code_importance = importance.sum(axis=1) / importance.sum()
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    factor_importance = importance.sum(axis=0) / importance.sum()
    return {
        "disentanglement": float(np.sum(per_code * code_importance)),
        "completeness": float(np.sum(per_factor * factor_importance)),
        "informativeness_train": float(np.mean(train_acc)),
        "informativeness_test": float(np.mean(test_acc)),
    }


def modularity(codes, factors, num_bins: int = 20) -> float:
    mutual_information = discrete_mutual_info(histogram_discretize(codes, num_bins), factors)
    squared_mi = np.square(mutual_information)
    max_squared_mi = np.max(squared_mi, axis=1)
    numerator = np.sum(squared_mi, axis=1) - max_squared_mi
    denominator = max_squared_mi * (squared_mi.shape[1] - 1.0)
    modularity_score = 1.0 - numerator / denominator
    modularity_score[max_squared_mi == 0.0] = 0.0
    return float(np.mean(modularity_score))


def irs(codes, factors, diff_quantile: float = 0.99, num_bins: int = 20) -> float:
    gen_factors = histogram_discretize(factors.astype(np.float64), num_bins)
    latents = codes[:, codes.var(axis=0) > 0.0]
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    cum_deviations = np.zeros([latents.shape[1], gen_factors.shape[1]])
    for i in range(gen_factors.shape[1]):
        unique_factors = np.unique(gen_factors[:, i], axis=0)
        for k in range(unique_factors.shape[0]):
            match = gen_factors[:, i] == unique_factors[k]
            e_loc = np.mean(latents[match, :], axis=0)
            diffs = np.abs(latents[match, :] - e_loc)
            cum_deviations[:, i] += np.quantile(diffs, q=diff_quantile, axis=0)
        cum_deviations[:, i] /= unique_factors.shape[0]
    irs_matrix = 1.0 - cum_deviations / max_deviations[:, np.newaxis]
    scores = irs_matrix.max(axis=1)
    return float(np.average(scores, weights=max_deviations))


def unsupervised(codes, num_bins: int = 20) -> dict[str, float]:
    cov = np.cov(codes.T)
    wasserstein = 2 * np.trace(cov) - 2 * np.trace(scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1)))
    discrete = histogram_discretize(codes, num_bins)
    mi = discrete_mutual_info(discrete, discrete)
    np.fill_diagonal(mi, 0)
    d = codes.shape[1]
    return {
        "gaussian_total_correlation": float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])),
        "gaussian_wasserstein_correlation": float(np.real(wasserstein)),
        "gaussian_wasserstein_correlation_norm": float(np.real(wasserstein) / np.sum(np.diag(cov))),
        "mutual_info": float(np.sum(mi) / (d**2 - d)),
    }
