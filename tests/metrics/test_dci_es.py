"""DCI-ES explicitness against a transcription of the authors' explitcitness.py and random-forest probes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from disbench.datasets.base import Factor
from disbench.metrics import METRICS, MetricInput
from disbench.metrics.dci_es import explicitness_of_curve


def reference_explicitness(x, y, baseline_loss):
    """``Explitcitness.add_curve`` + ``get_explitcitness`` + ``compute_explitcitness`` for one curve."""
    x = np.array(x, dtype=float)
    y = np.array(y, dtype=float)
    for i in range(y.shape[0]):
        y[i] = y[: (i + 1)].min()
    max_x, min_x = x.max(), x.min()
    max_area = (max_x - min_x) * baseline_loss
    min_y = y[np.argmin(y)]
    dy = 0.5 * (y[:-1] - min_y) + 0.5 * (y[1:] - min_y)
    dx = x[1:] - x[:-1]
    return 1.0 - (2 * dy * dx / max_area).sum()


def reference_probe_losses(train_x, train_y, test_x, test_y, discrete, depths, n_estimators, seed):
    losses = []
    for depth in depths:
        forest = RandomForestClassifier if discrete else RandomForestRegressor
        model = forest(max_leaf_nodes=None, max_depth=depth, n_estimators=n_estimators, random_state=seed)
        model.fit(train_x, train_y)
        losses.append(1.0 - model.score(test_x, test_y))
    return losses


def compute(data, **options):
    info = METRICS.get("dci-es")
    return info.compute(data, info.Options(**options), np.random.default_rng(0))


def test_curve_summary_equals_reference_on_curves_with_rises_and_plateaus():
    rng = np.random.default_rng(0)
    depths = np.array([1, 2, 3, 4, 8, 10, 12, 14, 16, 18, 20, 32])
    for _ in range(20):
        losses = np.sort(rng.random(len(depths)))[::-1] + 0.2 * rng.random(len(depths))
        baseline = rng.choice([2 / 3, 5 / 6, 1.0])
        ours = explicitness_of_curve(depths, np.minimum.accumulate(losses), baseline)
        assert ours == pytest.approx(reference_explicitness(depths, losses, baseline), abs=1e-12)


def test_dci_es_equals_reference_probes_and_curves():
    rng = np.random.default_rng(1)
    n = 900
    factors = np.stack([rng.integers(0, 3, n), rng.integers(0, 6, n)], axis=1)
    latent = rng.normal(size=n)
    codes = np.stack([factors[:, 0] + 0.2 * rng.normal(size=n), factors[:, 1] + 2 * latent, latent], axis=1)
    info = [Factor("a", "content", 3), Factor("b", "content", 6)]
    test_codes, test_factors = codes[600:], factors[600:]
    data = MetricInput(codes[:600], factors[:600], info, test_codes, test_factors)
    depths = (1, 2, 4, 8)
    result = compute(data, max_depths=depths, n_estimators=10)
    rng_used = np.random.default_rng(0)  # the metric draws its forest seed first from its generator
    seed = int(rng_used.integers(2**31 - 1))
    expected = []
    for column, k in enumerate((3, 6)):
        losses = reference_probe_losses(
            codes[:600], factors[:600, column], test_codes, test_factors[:, column], True, depths, 10, seed
        )
        assert result.details["test_losses"][column] == pytest.approx(losses, abs=1e-12)
        expected.append(reference_explicitness(depths, losses, 1 - 1 / k))
    values = [s.value for s in result.scores if s.metric == "dci-es.explicitness" and s.factor != "all"]
    assert values == pytest.approx(expected, abs=1e-12)
    assert result.values["dci-es.size"] == pytest.approx(2 / 3)


def test_codes_a_shallow_tree_reads_are_more_explicit_than_codes_that_need_deep_trees():
    rng = np.random.default_rng(2)
    factors = rng.integers(0, 8, size=(1500, 1))
    easy = factors + 0.1 * rng.normal(size=(1500, 1))
    hard = np.sin(factors * 1.7) + 0.01 * rng.normal(size=(1500, 1))  # the same information, folded
    info = [Factor("a", "content", 8)]
    options = dict(max_depths=(1, 2, 3, 4, 8), n_estimators=10)
    codes = lambda c: np.concatenate([c, rng.normal(size=(1500, 1))], axis=1)  # noqa: E731
    easy_e = compute(MetricInput(codes(easy), factors, info), **options).values["dci-es.explicitness"]
    hard_e = compute(MetricInput(codes(hard), factors, info), **options).values["dci-es.explicitness"]
    assert easy_e > hard_e + 0.1
