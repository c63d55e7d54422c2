"""UDR against a transcription of dlib's udr.py and known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from disbench.metrics.udr import UDROptions, relative_strength, spearman_matrix, udr_scores


def _dlib_udr(reps, kl, correlation, filter_low_kl=True, kl_filter_threshold=0.01):
    """dlib compute_udr_sklearn after its representation sampling, transcribed."""
    from sklearn import linear_model, preprocessing

    def relative_strength_disentanglement(corr_matrix):
        score_x = np.nanmean(np.nan_to_num(np.power(np.ndarray.max(corr_matrix, axis=0), 2) / np.sum(corr_matrix, axis=0), 0))
        score_y = np.nanmean(np.nan_to_num(np.power(np.ndarray.max(corr_matrix, axis=1), 2) / np.sum(corr_matrix, axis=1), 0))
        return (score_x + score_y) / 2

    def spearman_correlation_conv(vec1, vec2):
        corr_y = []
        for i in range(vec1.shape[1]):
            corr_x = []
            for j in range(vec2.shape[1]):
                corr, _ = scipy.stats.spearmanr(vec1[:, i], vec2[:, j], nan_policy="omit")
                corr_x.append(corr)
            corr_y.append(np.stack(corr_x))
        return np.transpose(np.absolute(np.stack(corr_y, axis=1)))

    def lasso_correlation_matrix(vec1, vec2):
        model = linear_model.Lasso(random_state=None, alpha=0.1)
        model.fit(vec1, vec2)
        return np.transpose(np.absolute(model.coef_))

    reps = [r.copy() for r in reps]
    num_models = len(reps)
    kl_mask = []
    for i in range(num_models):
        scaler = preprocessing.StandardScaler()
        scaler.fit(reps[i])
        reps[i] = scaler.transform(reps[i])
        reps[i] = reps[i] * np.greater(kl[i], 0.01)
        kl_mask.append(kl[i] > kl_filter_threshold)
    disentanglement = np.zeros((num_models, num_models, 1))
    for i in range(num_models):
        for j in range(num_models):
            if i == j:
                continue
            if correlation == "lasso":
                corr_matrix = lasso_correlation_matrix(reps[i], reps[j])
            else:
                corr_matrix = spearman_correlation_conv(reps[i], reps[j])
            if filter_low_kl:
                corr_matrix = corr_matrix[kl_mask[i], ...][..., kl_mask[j]]
            disentanglement[i, j] = relative_strength_disentanglement(corr_matrix)
    return [np.median(np.delete(disentanglement[:, i], i)) for i in range(num_models)], disentanglement[..., 0]


def _models(seed=0, n=300, d=6, entangled=False):
    """Three models that recover the same factors up to permutation, sign and noise (or mix them)."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 4))
    reps, kls = [], []
    for m in range(3):
        codes = np.concatenate([factors[:, rng.permutation(4)] * rng.choice([-1, 1], 4), np.zeros((n, d - 4))], axis=1)
        if entangled:
            codes[:, :4] = codes[:, :4] @ np.linalg.qr(rng.normal(size=(4, 4)))[0]
        codes += 0.05 * rng.normal(size=codes.shape)
        kl = np.r_[rng.uniform(0.5, 3.0, 4), [0.001, 0.005]]
        reps.append(codes)
        kls.append(kl)
    return reps, kls


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
@pytest.mark.parametrize("entangled", [False, True])
def test_udr_equals_dlib_transcription(correlation, entangled):
    reps, kls = _models(entangled=entangled)
    scores, pairwise = udr_scores(reps, kls, UDROptions(correlation=correlation))
    expected_scores, expected_pairwise = _dlib_udr(reps, kls, correlation)
    np.testing.assert_allclose(pairwise, expected_pairwise, atol=1e-10)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-10)


def test_unfiltered_spearman_equals_dlib_transcription():
    reps, kls = _models(seed=3)
    kls = [np.full(6, 1.0) for _ in kls]  # every latent active
    reps = [r + 0.1 * np.random.default_rng(i).normal(size=r.shape) for i, r in enumerate(reps)]
    scores, _ = udr_scores(reps, kls, UDROptions(correlation="spearman", filter_low_kl=False))
    expected, _ = _dlib_udr(reps, kls, "spearman", filter_low_kl=False)
    np.testing.assert_allclose(scores, expected, atol=1e-10)


def test_disentangled_seeds_score_high_and_entangled_seeds_lower():
    # Lasso(alpha=0.1) shrinks each unit coefficient to about 0.9; chance Spearman correlations
    # of about 0.05 between unrelated latents (300 points) add to each row and column sum
    for correlation, ceiling in (("lasso", 0.85), ("spearman", 0.85)):
        aligned, kls = _models(seed=1)
        mixed, mixed_kls = _models(seed=1, entangled=True)
        high = udr_scores(aligned, kls, UDROptions(correlation=correlation))[0]
        low = udr_scores(mixed, mixed_kls, UDROptions(correlation=correlation))[0]
        assert high.min() > ceiling
        assert low.max() < high.min() - 0.2


def test_relative_strength_known_answers():
    assert relative_strength(np.eye(4)) == pytest.approx(1.0)
    # all-equal similarities: max^2 / sum = 1 / (4 * 4) * 4 ... = 0.25 per row and column
    assert relative_strength(np.ones((4, 4))) == pytest.approx(0.25)


def test_spearman_matrix_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    b[:, 0] = np.round(a[:, 1] ** 3, 1)  # monotone with ties
    expected = np.array([[abs(scipy.stats.spearmanr(a[:, i], b[:, j])[0]) for j in range(2)] for i in range(3)])
    np.testing.assert_allclose(spearman_matrix(a, b), expected, atol=1e-12)


def test_models_without_kl_keep_every_latent_and_one_model_is_refused():
    reps, _ = _models(seed=2)
    scores, _ = udr_scores(reps, [None, None, None], UDROptions(correlation="spearman"))
    assert np.all(np.isfinite(scores))
    with pytest.raises(ValueError, match="at least two"):
        udr_scores(reps[:1], [None], UDROptions())
