"""The default DCI trees (disbench.metrics.gbt_exact) against scikit-learn's GradientBoostingClassifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from disbench.metrics.gbt_exact import fit_exact_boosted_trees, make_blocks


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
def test_pruned_search_equals_scanning_every_threshold(decimals):
    # one block per dimension scans every threshold of every node; the block bounds must
    # never drop the best split, so the fits are identical
    codes, factors, test_codes, test_factors = codes_and_factors(5, 400, (3, 7), 1, decimals)
    pruned = fit_exact_boosted_trees(codes, factors, [3, 7], test_codes, test_factors, n_estimators=20, blocks=32)
    full = fit_exact_boosted_trees(codes, factors, [3, 7], test_codes, test_factors, n_estimators=20, blocks=1)
    np.testing.assert_allclose(pruned.importances, full.importances, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(pruned.train_accuracy, full.train_accuracy)
    np.testing.assert_array_equal(pruned.test_accuracy, full.test_accuracy)


def test_blocks_cut_only_between_separable_values():
    # values within 1e-7 (scikit-learn's FEATURE_THRESHOLD) or equal stay in one block
    x = np.repeat(np.arange(10.0), 30)[:, None] + np.tile([0.0, 5e-8], 150)[:, None]
    layout = make_blocks(x, 64)
    ordered = np.sort(x[:, 0].astype(np.float32).astype(np.float64))
    for b in range(layout.num_blocks):
        values = layout.member_values[0, b][np.isfinite(layout.member_values[0, b])]
        if len(values):
            assert not layout.has_interior[0, b] or values.max() - values.min() > 1e-7
    assert layout.num_blocks <= 10
    assert np.array_equal(np.sort(layout.members[0][layout.members[0] < len(x)]), np.arange(len(x)))
    assert ordered[0] == layout.member_values[0, 0, 0]


def test_duplicated_dimension_shares_importance():
    # a dimension and its exact copy tie at every split; the seeded random order splits
    # the importance between them instead of always choosing the first
    codes, factors, test_codes, test_factors = codes_and_factors(6, 300, (3, 4), noise_dims=1)
    codes, test_codes = np.concatenate([codes, codes[:, :1]], 1), np.concatenate([test_codes, test_codes[:, :1]], 1)
    ours = fit_exact_boosted_trees(codes, factors, [3, 4], test_codes, test_factors, n_estimators=30)
    first, copy = ours.importances[0, 0], ours.importances[-1, 0]
    assert first > 0.1 and copy > 0.1
    assert first == pytest.approx(copy, rel=0.5)


def test_dci_options_name_the_histogram_variant():
    # max_bins belongs to the histogram variant; the default rows record it unset, so they
    # cannot be mistaken for rows scored by the histogram trees (then the default, max_bins 32)
    from disbench.metrics import METRICS
    from disbench.config import config_to_dict

    options = METRICS.get("dci").Options
    assert config_to_dict(options())["max_bins"] is None
    assert options(estimator="gbt-hist", max_bins=64).max_bins == 64
    with pytest.raises(ValueError, match="gbt-hist only"):
        options(max_bins=32)
