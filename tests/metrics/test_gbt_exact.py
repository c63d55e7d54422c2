"""The default DCI trees (disbench.metrics.gbt_exact) against scikit-learn's GradientBoostingClassifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from disbench.metrics.gbt_exact import fit_exact_boosted_trees


def codes_and_factors(seed: int, n: int, sizes: tuple[int, ...], noise_dims: int = 1, decimals: int | None = None):
    """Factors ``(n + 200, F)`` and codes mixing them, plus pure-noise dimensions; the last 200 rows are the test set."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, k, n + 200) for k in sizes], axis=1)
    signal = factors / np.array(sizes) @ (np.eye(len(sizes)) + 0.3 * rng.normal(size=(len(sizes), len(sizes))))
    codes = np.concatenate([signal + 0.1 * rng.normal(size=signal.shape), rng.normal(size=(n + 200, noise_dims))], axis=1)
    if decimals is not None:  # repeated values: thresholds only between distinct ones
        codes[:, 0] = np.round(codes[:, 0], decimals)
    return codes[:n], factors[:n], codes[n:], factors[n:]


def sklearn_fit(codes, factors, test_codes, test_factors, n_estimators=100):
    importances, train, test = [], [], []
    for f in range(factors.shape[1]):
        model = GradientBoostingClassifier(random_state=0, n_estimators=n_estimators).fit(codes, factors[:, f])
        importances.append(model.feature_importances_)
        train.append(np.mean(model.predict(codes) == factors[:, f]))
        test.append(np.mean(model.predict(test_codes) == test_factors[:, f]))
    return np.array(importances).T, np.array(train), np.array(test)


CASES = [
    # seed, training points, factor sizes, noise dims, rounding of dimension 0
    (0, 300, (2, 3, 5), 1, None),
    pytest.param(1, 400, (3, 6, 9), 2, None, marks=pytest.mark.slow),
    (2, 400, (2, 4, 8), 1, 1),
]


@pytest.mark.parametrize("seed, n, sizes, noise_dims, decimals", CASES)
def test_exact_trees_equal_sklearn_gradient_boosting(seed, n, sizes, noise_dims, decimals):
    # equal up to splits whose gains tie exactly: scikit-learn breaks ties by its random
    # feature order and, between thresholds of one dimension (a left part and its mirror
    # image give the same gain, common while residuals take few values), by the rounding
    # of its running sums; here by a seeded order and the lowest threshold. Measured:
    # importances within 0.005, accuracies within 2 / n (train) and 0.01 (test).
    codes, factors, test_codes, test_factors = codes_and_factors(seed, n, sizes, noise_dims, decimals)
    ours = fit_exact_boosted_trees(codes, factors, list(sizes), test_codes, test_factors)
    importances, train, test = sklearn_fit(codes, factors, test_codes, test_factors)
    np.testing.assert_allclose(ours.importances, importances, atol=0.008)
    np.testing.assert_allclose(ours.train_accuracy, train, atol=3.5 / n)
    np.testing.assert_allclose(ours.test_accuracy, test, atol=0.02)


@pytest.mark.parametrize("decimals", [None, 1])
def test_fit_is_the_same_on_one_thread_and_on_two(decimals):
    # the trees of a stage are grown in parallel chunks; each tree's arithmetic is its own,
    # so the thread count must not change a single bit
    import numba

    codes, factors, test_codes, test_factors = codes_and_factors(5, 400, (3, 7), 1, decimals)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fit_exact_boosted_trees(codes, factors, [3, 7], test_codes, test_factors, n_estimators=20)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = fit_exact_boosted_trees(codes, factors, [3, 7], test_codes, test_factors, n_estimators=20)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.importances, two.importances)
    np.testing.assert_array_equal(one.test_accuracy, two.test_accuracy)


def test_thresholds_only_between_separable_values():
    # values within 1e-7 (scikit-learn's FEATURE_THRESHOLD) are never split apart: a factor
    # that only a 5e-8 difference separates is not learnt from that dimension
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    x = np.stack([labels * 5e-8, rng.normal(size=400)], axis=1)  # float32 keeps 5e-8 apart from 0
    result = fit_exact_boosted_trees(x, labels[:, None], [2], x, labels[:, None], n_estimators=5)
    assert result.importances[0, 0] == 0.0
    x[:, 0] = labels * 1e-3  # now separable: one split learns it
    result = fit_exact_boosted_trees(x, labels[:, None], [2], x, labels[:, None], n_estimators=5)
    assert result.importances[0, 0] == pytest.approx(1.0) and result.test_accuracy[0] == 1.0


def test_duplicated_dimension_shares_importance():
    # a dimension and its exact copy tie at every split; the seeded random order splits
    # the importance between them instead of always choosing the first
    codes, factors, test_codes, test_factors = codes_and_factors(6, 300, (3, 4), noise_dims=1)
    codes, test_codes = np.concatenate([codes, codes[:, :1]], 1), np.concatenate([test_codes, test_codes[:, :1]], 1)
    ours = fit_exact_boosted_trees(codes, factors, [3, 4], test_codes, test_factors, n_estimators=30)
    first, copy = ours.importances[0, 0], ours.importances[-1, 0]
    assert first > 0.1 and copy > 0.1
    assert first == pytest.approx(copy, rel=0.5)


def test_dci_estimator_names_the_choices_and_rejects_unknown_ones():
    # the default and the lasso are the estimators; anything else (such as the histogram
    # trees, gbt-hist, that no suite used) is a user's mistake named in one line
    from disbench.errors import UsageError
    from disbench.metrics.selection import resolve_metric_options

    assert resolve_metric_options(["dci"], {})["dci"].estimator == "gbt"
    assert resolve_metric_options(["dci"], {"dci.estimator": "lasso"})["dci"].estimator == "lasso"
    with pytest.raises(UsageError, match="lasso") as raised:
        resolve_metric_options(["dci"], {"dci.estimator": "gbt-hist"})
    assert "\n" not in str(raised.value)
    with pytest.raises(UsageError, match="max_bins"):
        resolve_metric_options(["dci"], {"dci.max_bins": "32"})
