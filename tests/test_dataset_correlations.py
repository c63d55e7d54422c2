"""Dependent factors: Roth et al.'s correlated pairs on any dataset, for training and (optionally) evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.base import Factor
from disbench.datasets.correlation import correlation_weights, parse_correlations
from disbench.datasets.grid import FactorGridDataset
from disbench.errors import UsageError
from disbench.training.runs import build_dataset, resolve_run_spec


class TinyGrid(FactorGridDataset):
    """Three discrete factors on a full grid; observations are the factors themselves."""

    def __init__(self, config=None) -> None:
        super().__init__(config)
        self.factors = [Factor("a", "content", 4), Factor("b", "content", 5), Factor("c", "content", 3)]
        self.observation_shape = (3,)

    def observations_from_factors(self, factors, rng):
        return factors.astype(np.float32)


def tiny(**options) -> TinyGrid:
    from disbench.datasets.base import DatasetConfig

    return TinyGrid(DatasetConfig(**options))


def roth_weights(lat_values_1, lat_values_2, sigma):
    """``f_corr`` of Roth et al.'s ``provide_correlation_sampler`` ('traeuble'), factors in [0, 1]."""
    return np.exp(-((lat_values_1 - lat_values_2) ** 2) / (2 * sigma**2))


def test_weights_are_roths_on_factors_normalised_to_the_unit_interval():
    grid = np.stack(np.meshgrid(np.arange(4), np.arange(5), np.arange(3), indexing="ij"), -1).reshape(-1, 3)
    pairs = parse_correlations("a~b=0.2", tiny().factors, "tiny")
    ours = correlation_weights(grid, pairs, [4, 5, 3])
    np.testing.assert_allclose(ours, roth_weights(grid[:, 0] / 3, grid[:, 1] / 4, 0.2))


def test_training_factors_follow_the_weighted_grid_distribution():
    dataset = tiny(correlations="a~b=0.2")
    draws = dataset.training_factors(200_000, np.random.default_rng(0))
    grid = np.stack(np.meshgrid(np.arange(4), np.arange(5), indexing="ij"), -1).reshape(-1, 2)
    expected = roth_weights(grid[:, 0] / 3, grid[:, 1] / 4, 0.2)
    expected /= expected.sum()
    observed = np.bincount(draws[:, 0] * 5 + draws[:, 1], minlength=20) / len(draws)
    np.testing.assert_allclose(observed, expected, atol=0.004)
    # the factor outside the pair keeps its uniform marginal and stays independent
    np.testing.assert_allclose(np.bincount(draws[:, 2]) / len(draws), [1 / 3] * 3, atol=0.005)
    assert abs(np.corrcoef(draws[:, 0], draws[:, 2])[0, 1]) < 0.01
    assert np.corrcoef(draws[:, 0], draws[:, 1])[0, 1] > 0.6


def test_evaluation_points_come_from_the_independent_grid_unless_asked():
    independent = tiny(correlations="a~b=0.1").evaluation_factors(50_000, np.random.default_rng(1))
    assert abs(np.corrcoef(independent[:, 0], independent[:, 1])[0, 1]) < 0.02
    correlated = tiny(correlations="a~b=0.1", eval_distribution="correlated").evaluation_factors(
        50_000, np.random.default_rng(1)
    )
    assert np.corrcoef(correlated[:, 0], correlated[:, 1])[0, 1] > 0.8
    observations, factors = tiny(correlations="a~b=0.1").sample(1000, np.random.default_rng(2))
    assert np.corrcoef(factors[:, 0], factors[:, 1])[0, 1] > 0.8  # sample() is what methods train on


def test_no_correlation_is_the_independent_sampler_draw_for_draw():
    for spec in ("", "none"):
        ours = tiny(correlations=spec).training_factors(100, np.random.default_rng(3))
        np.testing.assert_array_equal(ours, tiny().sample_factors(100, np.random.default_rng(3)))


@pytest.mark.parametrize(
    "spec, message",
    [
        ("a~b", "not of the form FACTOR~FACTOR=SIGMA"),
        ("a-b=0.1", "not of the form FACTOR~FACTOR=SIGMA"),
        ("a~z=0.1", "has no factor 'z'.*its factors: a, b, c"),
        ("a~a=0.1", "pairs a factor with itself"),
        ("a~b=0", "needs a positive SIGMA"),
        ("a~b=x", "needs a positive SIGMA"),
        ("a~b=0.1,b~c=0.1", "already in another correlated pair"),
    ],
)
def test_bad_correlations_name_what_is_wrong(spec, message):
    with pytest.raises(UsageError, match=message):
        tiny(correlations=spec).training_factors(10, np.random.default_rng(0))


def test_continuous_factors_cannot_be_paired():
    dataset = build_dataset("synthetic", {"correlations": "content[0]~content[1]=0.1"})
    with pytest.raises(UsageError, match="is continuous; correlations pair discrete factors"):
        dataset.training_factors(10, np.random.default_rng(0))


def test_structured_views_refuse_correlations():
    dataset = build_dataset("dsprites", {"correlations": "x~y=0.1", "source": "render"})
    with pytest.raises(UsageError, match="not to structured views"):
        dataset.sample_views(2, np.random.default_rng(0))


def test_a_run_records_its_correlations_and_evaluation_points():
    spec = resolve_run_spec("pca", "dsprites", 0, None, {"dataset.correlations": "x~y=0.1", "dataset.source": "render"})
    assert spec.dataset_config["correlations"] == "x~y=0.1"
    assert "eval_distribution" not in spec.dataset_config  # its default (independent) is not recorded
    assert resolve_run_spec(
        "pca", "dsprites", 0, None, {"dataset.correlations": "x~y=0.1", "dataset.eval_distribution": "correlated"}
    ).dataset_config["eval_distribution"] == "correlated"
    plain = resolve_run_spec("pca", "dsprites", 0, None, {"dataset.source": "render"})
    assert plain.run_id != spec.run_id
    described = build_dataset("dsprites", {"correlations": "x~y=0.1", "source": "render"}).describe()
    assert described["correlations"] == [{"factors": ["x", "y"], "sigma": 0.1}]
    assert described["evaluation points"] == "independent"


def test_data_info_shows_the_pairs_and_refuses_a_bad_one(cli):
    shown = cli("data", "info", "dsprites", "--set", "correlations=x~y=0.1", "--set", "source=render")
    assert shown.exit_code == 0
    assert "correlated for training: x ~ y, sigma 0.1 (evaluation points: independent)" in shown.output
    refused = cli("data", "info", "dsprites", "--set", "correlations=x~q=0.1", "--set", "source=render")
    assert refused.exit_code == 2
    assert "has no factor 'q'" in refused.output
