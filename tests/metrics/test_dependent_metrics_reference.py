"""DMIG, XMIG, DLIG, minimality, sufficiency and InfoMEC against transcriptions of their reference code.

Each ``reference_*`` function below transcribes the reference computation step by step
(latte ``functional/disentanglement/mutual_info.py``, dependent_disentanglement
``src/metrics/min_suf.py``, latent_quantization ``disentangle/metrics/infomec.py``),
with its loops and its scikit-learn / SciPy calls, and knows nothing of disbench.
Known answers by construction follow.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy
from sklearn import feature_selection, linear_model, metrics, preprocessing

from disbench.datasets.base import Factor
from disbench.metrics import METRICS, MetricInput

LATTE_SEED = 42


def dependent_data(rng: np.random.Generator, n: int = 1500):
    """Four discrete factors, the last two dependent (f3 copies f2 half the time), and 6 codes."""
    sizes = (3, 4, 5, 5)
    f0, f1, f2 = (rng.integers(0, k, n) for k in sizes[:3])
    f3 = np.where(rng.random(n) < 0.5, f2, rng.integers(0, 5, n))
    factors = np.stack([f0, f1, f2, f3], axis=1)
    scaled = factors / np.array(sizes)
    mixing = np.array(
        [
            [1.0, 0.0, 0.0, 0.0, 0.3, 0.0],
            [0.0, 1.0, 0.0, 0.0, 0.0, 0.2],
            [0.0, 0.0, 1.0, 0.4, 0.0, 0.0],
            [0.0, 0.0, 0.3, 1.0, 0.0, 0.0],
        ]
    )
    codes = scaled @ mixing + 0.15 * rng.normal(size=(n, 6))
    info = [Factor(f"f{i}", "content", k) for i, k in enumerate(sizes)]
    return codes, factors, info


def compute(name: str, data: MetricInput, **options):
    info = METRICS.get(name)
    return info.compute(data, info.Options(**options), np.random.default_rng(0))


def per_factor(result, metric: str) -> np.ndarray:
    return np.array([s.value for s in result.scores if s.metric == metric and s.factor != "all"])


def aggregate(result, metric: str) -> float:
    return next(s.value for s in result.scores if s.metric == metric and s.factor == "all")


# --- latte (discrete attributes, reg_dim = range(n_attr)) -------------------------------------


def latte_mi(z, a):
    return feature_selection.mutual_info_classif(z, a, random_state=LATTE_SEED)


def latte_entropy(a):
    return latte_mi(a[:, None], a)[0]


def latte_conditional_entropy(ai, aj):
    return latte_entropy(ai) - latte_mi(aj[:, None], ai)[0]


def latte_top2gap(score, zi):
    sc_sort = np.sort(score)
    sc_argsort = np.argsort(score)
    if sc_argsort[-1] == zi:
        return sc_sort[-1] - sc_sort[-2], sc_argsort[-2]
    return score[zi] - sc_sort[-1], sc_argsort[-1]


def reference_dmig(z, a, reg_dim):
    out = np.zeros(a.shape[1])
    for i in range(a.shape[1]):
        mi = latte_mi(z, a[:, i])
        gap, zj = latte_top2gap(mi, reg_dim[i])
        if zj in reg_dim:
            cen = latte_conditional_entropy(a[:, i], a[:, reg_dim.index(zj)])
        else:
            cen = latte_entropy(a[:, i])
        out[i] = gap / cen
    return out


def reference_xmig(z, a, reg_dim):
    out = np.zeros(a.shape[1])
    for i in range(a.shape[1]):
        mi = latte_mi(z, a[:, i])
        rest = np.delete(mi, reg_dim)
        out[i] = (mi[reg_dim[i]] - np.sort(rest)[-1]) / latte_entropy(a[:, i])
    return out


def reference_dlig(z, a, reg_dim):
    out = np.zeros(a.shape[1])
    for i, zi in enumerate(reg_dim):
        mi = np.concatenate([latte_mi(z[:, zi][:, None], a[:, k]) for k in range(a.shape[1])])
        gap, j = latte_top2gap(mi, i)
        out[i] = gap / latte_conditional_entropy(a[:, i], a[:, j])
    return out


@pytest.mark.parametrize("metric, reference", [("dmig", reference_dmig), ("xmig", reference_xmig), ("dlig", reference_dlig)])
@pytest.mark.parametrize("seed", [0, 1])
def test_dependency_gaps_equal_latte(metric, reference, seed):
    codes, factors, info = dependent_data(np.random.default_rng(seed))
    result = compute(metric, MetricInput(codes, factors, info))
    expected = reference(codes, factors, list(range(factors.shape[1])))
    np.testing.assert_allclose(per_factor(result, metric), expected, atol=1e-9)
    assert aggregate(result, metric) == pytest.approx(expected.mean(), abs=1e-9)


def test_matched_assignment_equals_latte_given_the_matching_reg_dim():
    rng = np.random.default_rng(4)
    codes, factors, info = dependent_data(rng)
    order = [3, 5, 0, 1, 2, 4]  # the factors' dimensions moved: index assignment no longer fits
    shuffled = codes[:, order]
    reg_dim = [order.index(i) for i in range(4)]
    result = compute("dmig", MetricInput(shuffled, factors, info), assignment="matched")
    assert result.details["assigned_dimension"] == reg_dim
    np.testing.assert_allclose(per_factor(result, "dmig"), reference_dmig(shuffled, factors, reg_dim), atol=1e-9)
    index = compute("dmig", MetricInput(shuffled, factors, info))
    assert aggregate(index, "dmig") < 0 < aggregate(result, "dmig")


def test_dmig_divides_mig_gap_by_conditional_entropy_with_the_histogram_estimator():
    codes, factors, info = dependent_data(np.random.default_rng(5), n=3000)
    data = MetricInput(codes, factors, info)
    mig = compute("mig", data)
    dmig = compute("dmig", data, estimator="histogram")
    mutual_info = np.array(mig.details["mutual_info"])
    entropy = np.array(mig.details["factor_entropy"])
    gaps = np.array([mutual_info[i, i] - np.delete(mutual_info[:, i], i).max() for i in range(4)])
    # f3 shares information with f2, so dimension 3's runner-up about f2 is f3's dimension: DMIG's
    # denominator there is H(f2 | f3) < H(f2) and DMIG exceeds MIG's gap ratio for that factor
    denominators = np.array(dmig.details["denominator"])
    np.testing.assert_allclose(per_factor(dmig, "dmig"), gaps / denominators, atol=1e-12)
    assert denominators[2] < entropy[2] and per_factor(dmig, "dmig")[2] > gaps[2] / entropy[2]


# --- dependent_disentanglement min_suf.py ------------------------------------------------------


def reference_min_suf(y, z, n_bins=15):
    y = y.astype(int)
    z_discrete = np.empty_like(z, dtype=int)
    for i in range(z.shape[1]):
        bins = np.linspace(np.min(z[:, i]), np.max(z[:, i]), n_bins + 1)
        bins[-1] += 1e-9
        z_discrete[:, i] = np.digitize(z[:, i], bins) - 1

    def pmf(values):
        _, counts = np.unique(values, return_counts=True)
        return counts / counts.sum()

    ent_y = np.array([scipy_entropy(pmf(y[:, i]), base=2) for i in range(y.shape[1])])
    ent_z = np.array([scipy_entropy(pmf(z_discrete[:, j]), base=2) for j in range(z.shape[1])])
    mutual_info = np.zeros((y.shape[1], z.shape[1]))
    for i in range(y.shape[1]):
        for j in range(z.shape[1]):
            joint = np.zeros((y.max() + 1, n_bins))
            for yv, zv in zip(y[:, i], z_discrete[:, j]):
                joint[yv, zv] += 1
            joint /= joint.sum()
            mutual_info[i, j] = ent_y[i] + ent_z[j] - scipy_entropy(joint.flatten(), base=2)
    return (mutual_info.max(axis=0) / ent_z).mean(), (mutual_info.max(axis=1) / ent_y).mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minimality_and_sufficiency_equal_reference(seed):
    codes, factors, info = dependent_data(np.random.default_rng(seed), n=1200)
    data = MetricInput(codes, factors, info)
    minimality, sufficiency = reference_min_suf(factors, codes)
    assert aggregate(compute("minimality", data), "minimality") == pytest.approx(minimality, abs=1e-9)
    assert aggregate(compute("sufficiency", data), "sufficiency") == pytest.approx(sufficiency, abs=1e-9)


def test_minimality_is_one_for_codes_that_each_copy_one_factor_and_sufficiency_penalises_none():
    rng = np.random.default_rng(6)
    factors = rng.integers(0, 4, size=(2000, 2))
    codes = np.concatenate([factors, factors[:, :1]], axis=1).astype(float)  # factor 0 in two dimensions
    data = MetricInput(codes, factors, [Factor("a", "content", 4), Factor("b", "content", 4)])
    assert aggregate(compute("minimality", data), "minimality") == pytest.approx(1.0)
    assert aggregate(compute("sufficiency", data), "sufficiency") == pytest.approx(1.0)
    mixed = np.stack([factors[:, 0] * 4 + factors[:, 1], factors[:, 1]], axis=1).astype(float)
    low = compute("minimality", MetricInput(mixed, factors, data.factor_info))
    assert aggregate(low, "minimality") < 0.8


def test_minimality_leaves_constant_dimensions_out_where_the_reference_divides_by_zero():
    rng = np.random.default_rng(7)
    factors = rng.integers(0, 4, size=(500, 2))
    codes = np.concatenate([factors.astype(float), np.zeros((500, 1))], axis=1)
    result = compute("minimality", MetricInput(codes, factors, [Factor("a", "content", 4), Factor("b", "content", 4)]))
    assert result.details["constant_dimensions"] == [2]
    assert aggregate(result, "minimality") == pytest.approx(1.0)


# --- latent_quantization infomec.py (continuous latents) ---------------------------------------


def reference_infomec(sources, latents, random_state):
    processed = np.stack(
        [preprocessing.LabelEncoder().fit_transform(sources[:, i]) for i in range(sources.shape[1])], axis=1
    )
    scaled = np.concatenate(
        [preprocessing.StandardScaler().fit_transform(latents[:, j][:, None]) for j in range(latents.shape[1])], axis=1
    )
    nmi = np.empty((processed.shape[1], scaled.shape[1]))
    for i in range(processed.shape[1]):
        for j in range(scaled.shape[1]):
            nmi[i, j] = feature_selection.mutual_info_classif(
                scaled[:, j][:, None], processed[:, i], discrete_features=False, n_neighbors=10, random_state=random_state
            )[0]
        nmi[i, :] /= metrics.mutual_info_score(processed[:, i], processed[:, i])
    ranges = latents.max(axis=0) - latents.min(axis=0)
    active = ranges > ranges.max() / 20
    f, a = sources.shape[1], active.sum()
    pruned = nmi[:, active]
    infom = (np.mean(pruned.max(axis=0) / pruned.sum(axis=0)) - 1 / f) / (1 - 1 / f)
    infoc = (np.mean(pruned.max(axis=1) / pruned.sum(axis=1)) - 1 / a) / (1 - 1 / a)

    def log_loss(x, y):
        # the reference's LogisticRegression(penalty=None, ...), spelt C=inf since scikit-learn 1.8
        model = linear_model.LogisticRegression(C=np.inf, tol=1e-4, class_weight="balanced", solver="lbfgs", max_iter=100)
        model.fit(x, y)
        return metrics.log_loss(y, model.predict_proba(x))

    all_scaled = preprocessing.StandardScaler().fit_transform(latents)
    infoe = np.mean(
        [
            (log_loss(np.zeros_like(latents), processed[:, i]) - log_loss(all_scaled, processed[:, i]))
            / log_loss(np.zeros_like(latents), processed[:, i])
            for i in range(processed.shape[1])
        ]
    )
    return infom, infoe, infoc


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("seed", [0, 1])
def test_infomec_equals_reference(seed):
    codes, factors, info = dependent_data(np.random.default_rng(seed), n=800)
    codes[:, 5] *= 0.01  # an inactive dimension (range under 1/20 of the largest)
    result = compute("infomec", MetricInput(codes, factors, info))
    infom, infoe, infoc = reference_infomec(factors, codes, random_state=0)
    assert result.details["active_dimensions"] == [0, 1, 2, 3, 4]
    assert result.values["infomec.infom"] == pytest.approx(infom, abs=1e-9)
    assert result.values["infomec.infoc"] == pytest.approx(infoc, abs=1e-9)
    assert result.values["infomec.infoe"] == pytest.approx(infoe, abs=1e-6)


def test_infomec_is_high_for_axis_aligned_codes_and_low_for_rotated_ones():
    rng = np.random.default_rng(8)
    factors = rng.integers(0, 5, size=(1500, 3))
    aligned = factors + 0.05 * rng.normal(size=(1500, 3))
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    info = [Factor(f"f{i}", "content", 5) for i in range(3)]
    good = compute("infomec", MetricInput(aligned, factors, info)).values
    bad = compute("infomec", MetricInput(aligned @ rotation, factors, info)).values
    assert good["infomec.infom"] > 0.9 and good["infomec.infoc"] > 0.9
    assert bad["infomec.infom"] < good["infomec.infom"] - 0.3
    # a rotation keeps what a linear read-out can recover
    assert bad["infomec.infoe"] == pytest.approx(good["infomec.infoe"], abs=0.02)
