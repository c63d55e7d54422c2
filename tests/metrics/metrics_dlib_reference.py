"""Straightforward transcriptions of disentanglement_lib's metric code, used as references.

Each function follows dlib's loops and scikit-learn calls one pair at a time
(``disentanglement_lib/evaluation/metrics/{utils,mig,sap_score,dci,modularity_explicitness,
irs,unsupervised_metrics,beta_vae,factor_vae}.py``), with codes and factors laid out as
``(N, d)`` / ``(N, F)``. They are slow on purpose: they are what disbench's vectorised
versions must equal.

The BetaVAE and FactorVAE scores draw their own batches; their transcriptions keep dlib's
signature ``(ground_truth_data, representation_function, random_state, ...)`` and its
sampling calls one batch at a time, so a test can feed them the batches disbench drew.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.stats
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score, roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer
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


def explicitness(codes, factors, test_codes, test_factors) -> dict[str, float]:
    """dlib ``compute_modularity_explicitness``'s explicitness: standardise with the train
    split's mean and (population) standard deviation, then ``explicitness_per_factor``."""
    mean, stddev = np.mean(codes, axis=0), np.std(codes, axis=0)
    train_norm, test_norm = (codes - mean) / stddev, (test_codes - mean) / stddev
    train_scores, test_scores = [], []
    for i in range(factors.shape[1]):
        classifier = LogisticRegression().fit(train_norm, factors[:, i])
        binarizer = MultiLabelBinarizer()
        train_scores.append(
            roc_auc_score(binarizer.fit_transform(np.expand_dims(factors[:, i], 1)), classifier.predict_proba(train_norm))
        )
        test_scores.append(
            roc_auc_score(binarizer.fit_transform(np.expand_dims(test_factors[:, i], 1)), classifier.predict_proba(test_norm))
        )
    return {"explicitness_score_train": float(np.mean(train_scores)), "explicitness_score_test": float(np.mean(test_scores))}


def beta_vae_sample(ground_truth_data, representation_function, batch_size, random_state):
    """dlib ``beta_vae._generate_training_sample``."""
    index = random_state.randint(ground_truth_data.num_factors)
    factors1 = ground_truth_data.sample_factors(batch_size, random_state)
    factors2 = ground_truth_data.sample_factors(batch_size, random_state)
    factors2[:, index] = factors1[:, index]
    observation1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
    observation2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
    representation1 = representation_function(observation1)
    representation2 = representation_function(observation2)
    return index, np.mean(np.abs(representation1 - representation2), axis=0)


def beta_vae_batch(ground_truth_data, representation_function, batch_size, num_points, random_state):
    """dlib ``beta_vae._generate_training_batch``."""
    points, labels = None, np.zeros(num_points, dtype=np.int64)
    for i in range(num_points):
        labels[i], feature_vector = beta_vae_sample(ground_truth_data, representation_function, batch_size, random_state)
        if points is None:
            points = np.zeros((num_points, feature_vector.shape[0]))
        points[i, :] = feature_vector
    return points, labels


def beta_vae(ground_truth_data, representation_function, random_state, batch_size, num_train, num_eval):
    """dlib ``compute_beta_vae_sklearn``."""
    train_points, train_labels = beta_vae_batch(
        ground_truth_data, representation_function, batch_size, num_train, random_state
    )
    model = LogisticRegression(random_state=random_state)
    model.fit(train_points, train_labels)
    train_accuracy = np.mean(model.predict(train_points) == train_labels)
    eval_points, eval_labels = beta_vae_batch(ground_truth_data, representation_function, batch_size, num_eval, random_state)
    return {"train_accuracy": float(train_accuracy), "eval_accuracy": float(model.score(eval_points, eval_labels))}


def factor_vae_sample(ground_truth_data, representation_function, batch_size, random_state, global_variances, active_dims):
    """dlib ``factor_vae._generate_training_sample``."""
    factor_index = random_state.randint(ground_truth_data.num_factors)
    factors = ground_truth_data.sample_factors(batch_size, random_state)
    factors[:, factor_index] = factors[0, factor_index]
    observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
    representations = representation_function(observations)
    local_variances = np.var(representations, axis=0, ddof=1)
    argmin = np.argmin(local_variances[active_dims] / global_variances[active_dims])
    return factor_index, argmin


def factor_vae_votes(ground_truth_data, representation_function, batch_size, num_points, random_state,
                     global_variances, active_dims):
    """dlib ``factor_vae._generate_training_batch``."""
    votes = np.zeros((ground_truth_data.num_factors, global_variances.shape[0]), dtype=np.int64)
    for _ in range(num_points):
        factor_index, argmin = factor_vae_sample(
            ground_truth_data, representation_function, batch_size, random_state, global_variances, active_dims
        )
        votes[factor_index, argmin] += 1
    return votes


def factor_vae(ground_truth_data, representation_function, random_state, batch_size, num_train, num_eval,
               num_variance_estimate, prune_threshold=0.05):
    """dlib ``compute_factor_vae`` with ``_compute_variances`` and ``_prune_dims`` (study threshold 0.05)."""
    observations = ground_truth_data.sample_observations(num_variance_estimate, random_state)
    global_variances = np.var(representation_function(observations), axis=0, ddof=1)
    active_dims = np.sqrt(global_variances) >= prune_threshold
    if not active_dims.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    training_votes = factor_vae_votes(ground_truth_data, representation_function, batch_size, num_train,
                                      random_state, global_variances, active_dims)
    classifier = np.argmax(training_votes, axis=0)
    other_index = np.arange(training_votes.shape[1])
    train_accuracy = np.sum(training_votes[classifier, other_index]) * 1.0 / np.sum(training_votes)
    eval_votes = factor_vae_votes(ground_truth_data, representation_function, batch_size, num_eval,
                                  random_state, global_variances, active_dims)
    eval_accuracy = np.sum(eval_votes[classifier, other_index]) * 1.0 / np.sum(eval_votes)
    return {"train_accuracy": float(train_accuracy), "eval_accuracy": float(eval_accuracy),
            "num_active_dims": len(active_dims)}
