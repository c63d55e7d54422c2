"""disbench's vectorised metrics against transcriptions of disentanglement_lib (metrics_dlib_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.base import Factor
from disbench.metrics import METRICS, MetricInput
from disbench.metrics.dci import completeness, disentanglement

import metrics_dlib_reference as dlib

SIZES = (2, 3, 7, 4)


def mixed_codes(rng: np.random.Generator, n: int, noise: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Codes that are partly disentangled: 3 dims follow one factor each, 2 mix several, plus noise."""
    factors = np.stack([rng.integers(0, k, n) for k in SIZES], axis=1)
    scaled = factors / np.array(SIZES)
    mixing = np.array(
        [[1.0, 0, 0, 0, 0.5], [0, 1.0, 0, 0, 0.5], [0, 0, 1.0, 0.7, 0], [0, 0, 0, 0.7, 0.4]]
    )
    return scaled @ mixing + noise * rng.normal(size=(n, 5)), factors


def compute(name: str, data: MetricInput, **options):
    info = METRICS.get(name)
    return info.compute(data, info.Options(**options), np.random.default_rng(0))


def value(result, metric: str, factor: str = "all") -> float:
    return next(s.value for s in result.scores if s.metric == metric and s.factor == factor)


def discrete_info():
    return [Factor(f"f{i}", "content", k) for i, k in enumerate(SIZES)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mig_equals_dlib(seed):
    codes, factors = mixed_codes(np.random.default_rng(seed), 2000)
    ours = value(compute("mig", MetricInput(codes, factors, discrete_info())), "mig")
    assert ours == pytest.approx(dlib.mig(codes, factors), abs=1e-6)


def test_mig_continuous_factors_equal_dlib_on_binned_factors():
    # our documented choice: continuous factors binned with dlib's own 20-bin histogram
    rng = np.random.default_rng(3)
    latents = rng.normal(size=(1500, 3))
    codes = latents @ rng.normal(size=(3, 4)) + 0.2 * rng.normal(size=(1500, 4))
    info = [Factor(f"z{i}", "content") for i in range(3)]
    ours = value(compute("mig", MetricInput(codes, latents, info)), "mig")
    binned = dlib.histogram_discretize(latents, 20)
    assert ours == pytest.approx(dlib.mig(codes, binned), abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_sap_discrete_equals_dlib(seed):
    rng = np.random.default_rng(seed)
    codes, factors = mixed_codes(rng, 1500)
    test_codes, test_factors = mixed_codes(rng, 700)
    data = MetricInput(codes, factors, discrete_info(), test_codes, test_factors)
    ours = value(compute("sap", data), "sap")
    assert ours == pytest.approx(dlib.sap(codes, factors, test_codes, test_factors, continuous=False), abs=1e-6)


def test_sap_continuous_equals_dlib():
    rng = np.random.default_rng(4)
    latents = rng.normal(size=(1200, 3))
    codes = latents @ rng.normal(size=(3, 4)) + 0.5 * rng.normal(size=(1200, 4))
    info = [Factor(f"z{i}", "content") for i in range(3)]
    data = MetricInput(codes, latents, info, codes[:10], latents[:10])
    ours = value(compute("sap", data), "sap")
    assert ours == pytest.approx(dlib.sap(codes, latents, None, None, continuous=True), abs=1e-9)


def test_modularity_irs_unsupervised_equal_dlib():
    codes, factors = mixed_codes(np.random.default_rng(5), 1500)
    data = MetricInput(codes, factors, discrete_info())
    assert value(compute("modularity", data), "modularity") == pytest.approx(dlib.modularity(codes, factors), abs=1e-9)
    assert value(compute("irs", data), "irs") == pytest.approx(dlib.irs(codes, factors), abs=1e-9)
    ours = compute("unsupervised", data)
    for key, expected in dlib.unsupervised(codes).items():
        assert value(ours, f"unsupervised.{key}") == pytest.approx(expected, rel=1e-7, abs=1e-9)


def test_dci_formulas_match_dlib_unit_cases():
    # dlib dci_test.py: diagonal -> 1; redundant codes -> completeness 1 - log 2 / log 10
    diagonal = np.diag(5.0 * np.ones(5))
    assert disentanglement(diagonal) == pytest.approx(1.0)
    assert completeness(diagonal) == pytest.approx(1.0)
    redundant = np.vstack([diagonal, diagonal])
    assert disentanglement(redundant) == pytest.approx(1.0)
    assert completeness(redundant) == pytest.approx(1.0 - np.log(2) / np.log(10))
    two_factors = np.hstack([diagonal, diagonal])
    assert disentanglement(two_factors) == pytest.approx(1.0 - np.log(2) / np.log(10))
    assert disentanglement(np.zeros((10, 10))) == pytest.approx(0.0)


# the default trees are scikit-learn's (exact thresholds): within dlib's 0.005 on every seed
DCI_TOLERANCE = 0.005


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_dci_close_to_sklearn_gbt_on_several_seeds(seed):
    rng = np.random.default_rng(seed)
    codes, factors = mixed_codes(rng, 600, noise=0.15)
    test_codes, test_factors = mixed_codes(rng, 300, noise=0.15)
    factors, test_factors = factors[:, :3], test_factors[:, :3]  # three factors keep the reference fast
    info = discrete_info()[:3]
    data = MetricInput(codes, factors, info, test_codes, test_factors)
    ours = compute("dci", data)
    reference = dlib.dci(codes, factors, test_codes, test_factors)
    for key, expected in reference.items():
        # exactly tied splits (scikit-learn breaks them by its random feature order) can flip a
        # test prediction or two: the accuracies may differ by two of the 300 test points
        tolerance = max(DCI_TOLERANCE, 2 / len(test_codes)) if key.startswith("informativeness") else DCI_TOLERANCE
        assert value(ours, f"dci.{key}") == pytest.approx(expected, abs=tolerance), key


def test_histogram_discretize_equals_numpy_digitize_on_awkward_values():
    # the arithmetic bin guess is corrected against np.histogram's own edges, so values
    # sitting exactly on edges, constant columns and large offsets bin as np.digitize does
    from disbench.metrics.discretize import histogram_discretize

    rng = np.random.default_rng(7)
    for trial in range(60):
        x = rng.normal(size=(500, 3)) * rng.uniform(1e-3, 1e3) + rng.uniform(-1e3, 1e3)
        if trial % 3 == 0:
            x = np.round(x * 3) / 3  # many values exactly on edges
        if trial % 5 == 0:
            x[:, 1] = 5.0
        assert np.array_equal(histogram_discretize(x, 20) + 1, dlib.histogram_discretize(x, 20).astype(int))


def test_kernel_r2_equals_sklearn_grid_search_of_kernel_ridge():
    # the shared-distance, one-Cholesky-per-alpha grid search picks what GridSearchCV(KernelRidge, cv=3) picks
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import GridSearchCV

    from disbench.metrics.r2 import kernel_r2

    rng = np.random.default_rng(8)
    x_train, x_test = rng.normal(size=(150, 3)), rng.normal(size=(60, 3))
    signal = lambda x: np.stack([np.sin(2 * x[:, 0]), x[:, 1] * x[:, 2], 0.1 * x[:, 0]], axis=1)  # noqa: E731
    y_train = signal(x_train) + 0.1 * rng.normal(size=(150, 3))
    y_test = signal(x_test) + 0.1 * rng.normal(size=(60, 3))
    alphas, gammas = (1.0, 0.1, 0.01, 0.001), (0.01, 0.1, 1.0, 10.0)
    scores, chosen = kernel_r2(x_train, y_train, x_test, y_test, alphas, gammas)
    for k in range(3):
        search = GridSearchCV(KernelRidge(kernel="rbf"), {"alpha": list(alphas), "gamma": list(gammas)}, cv=3)
        search.fit(x_train, y_train[:, k])
        assert tuple(chosen[k]) == (search.best_params_["alpha"], search.best_params_["gamma"])
        assert scores[k] == pytest.approx(search.score(x_test, y_test[:, k]), abs=1e-8)


def test_boosted_trees_match_sklearn_on_codes_with_few_distinct_values():
    # codes on a half-integer grid: many tied values, few candidate thresholds; every factor's
    # training accuracy and importances agree with GradientBoostingClassifier() (exactly tied
    # splits, broken by each side's own random dimension order, may move a point or two)
    from sklearn.ensemble import GradientBoostingClassifier

    from disbench.metrics.gbt_exact import fit_exact_boosted_trees

    rng = np.random.default_rng(3)
    factors = np.stack([rng.integers(0, k, 300) for k in (2, 3, 5)], axis=1)
    codes = np.round((factors @ rng.normal(size=(3, 4)) + rng.normal(size=(300, 4))) * 2) / 2
    ours = fit_exact_boosted_trees(codes, factors, [2, 3, 5], codes, factors)
    for f in range(3):
        model = GradientBoostingClassifier(random_state=0).fit(codes, factors[:, f])
        assert ours.train_accuracy[f] == pytest.approx(np.mean(model.predict(codes) == factors[:, f]), abs=2 / 300)
        np.testing.assert_allclose(ours.importances[:, f], model.feature_importances_, atol=0.01)


def test_explicitness_auc_equals_the_mann_whitney_statistic_with_ties_and_missing_classes():
    # an independent computation: the AUC of a class is its Mann-Whitney U over n+ n-, on
    # tie-averaged ranks (ties count one half), averaged over the classes present and absent
    from scipy.stats import rankdata

    from disbench.metrics.explicitness import roc_auc_one_vs_rest

    rng = np.random.default_rng(9)
    labels = rng.integers(0, 5, 400)
    labels[labels == 3] = 4  # class 3 absent: skipped; class 4 twice as frequent (macro, not weighted)
    proba = np.round(rng.random((400, 6)), 1)  # many ties
    proba[:, 0] += 0.3 * (labels == 0)
    classes = np.arange(6)
    expected = []
    for k in (0, 1, 2, 4):
        positive = labels == k
        ranks = rankdata(proba[:, k])
        u = ranks[positive].sum() - positive.sum() * (positive.sum() + 1) / 2
        expected.append(u / (positive.sum() * (~positive).sum()))
    assert roc_auc_one_vs_rest(labels, proba, classes) == pytest.approx(np.mean(expected), abs=1e-12)
    from disbench.errors import DisbenchError

    with pytest.raises(DisbenchError, match="at least two classes"):
        roc_auc_one_vs_rest(np.zeros(10), rng.random((10, 2)), np.arange(2))
