import numpy as np
import pytest

from disbench.datasets import DATASETS
from disbench.datasets.synthetic import SyntheticConfig, SyntheticDataset
from disbench.errors import UsageError


GROUPS = SyntheticConfig(mode="groups")


def test_reference_mode_is_the_default_with_five_content_and_five_style_dimensions():
    dataset = SyntheticDataset()
    assert dataset.config.mode == "reference"
    assert dataset.groups == ["content", "group1"] and dataset.observation_shape == (10,)
    assert dataset.group_factor_indices("content") == list(range(5))
    assert dataset.group_factor_indices("group1") == list(range(5, 10))
    old = SyntheticDataset(GROUPS)
    assert old.groups == ["content", "group1", "group2"] and old.observation_shape == (7,)


def test_factors_and_groups():
    dataset = SyntheticDataset(SyntheticConfig(content_dims=2, style_dims=3, num_styles=3))
    assert dataset.groups == ["content", "group1", "group2", "group3"]
    assert len(dataset.factors) == 2 + 3 * 3
    assert all(f.continuous for f in dataset.factors)
    assert dataset.observation_shape == (11,)
    assert dataset.group_factor_indices("group2") == [5, 6, 7]
    with pytest.raises(UsageError, match="has no group 'colour'"):
        dataset.group_factor_indices("colour")


def test_mixing_is_invertible_and_fixed_by_mixing_seed():
    a, b = SyntheticDataset(GROUPS), SyntheticDataset(GROUPS)
    for wa, wb in zip(a.mixing, b.mixing):
        np.testing.assert_array_equal(wa, wb)
        assert np.linalg.cond(wa) <= a.config.max_condition
        np.testing.assert_allclose(np.linalg.norm(wa, axis=0), 1.0)
    other = SyntheticDataset(SyntheticConfig(mode="groups", mixing_seed=1))
    assert not np.allclose(a.mixing[0], other.mixing[0])
    # invertible: distinct latents give distinct observations, and a linear readout of a
    # LeakyReLU MLP with well-conditioned layers keeps full rank
    x, _ = a.sample(2000, np.random.default_rng(0))
    assert np.linalg.matrix_rank(x) == x.shape[1]


def test_same_seed_same_samples():
    dataset = SyntheticDataset()
    x1, f1 = dataset.sample(10, np.random.default_rng(3))
    x2, f2 = dataset.sample(10, np.random.default_rng(3))
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(f1, f2)


def _invert(dataset, x):
    z = x.astype(np.float64)
    for layer, weights in reversed(list(enumerate(dataset.mixing))):
        if layer < len(dataset.mixing) - 1:
            z = np.where(z > 0, z, z / 0.2)
        z = z @ np.linalg.inv(weights)
    return z


def test_views_share_exactly_the_right_groups():
    dataset = SyntheticDataset(GROUPS)
    views = dataset.sample_views(256, np.random.default_rng(0))
    query = _invert(dataset, views.query)
    np.testing.assert_allclose(query, views.query_factors, atol=1e-3)
    content = dataset.group_factor_indices("content")
    content_key = _invert(dataset, views.content_key)
    np.testing.assert_allclose(content_key[:, content], query[:, content], atol=1e-3)
    for group in dataset.style_groups:
        others = [i for i in range(len(dataset.factors)) if i not in content]
        assert np.abs(content_key[:, others] - query[:, others]).min() > 0  # every style redrawn
        key = _invert(dataset, views.group_keys[group])
        shared = content + dataset.group_factor_indices(group)
        redrawn = [i for i in range(len(dataset.factors)) if i not in shared]
        np.testing.assert_allclose(key[:, shared], query[:, shared], atol=1e-3)
        assert np.abs(key[:, redrawn] - query[:, redrawn]).min() > 1e-6


def test_registered():
    assert DATASETS.get("synthetic") is SyntheticDataset


def test_reference_mixing_follows_the_reference_condition_number_rule():
    dataset = SyntheticDataset()
    # the reference: sort the condition numbers of 25,000 matrices (uniform entries, unit columns)
    # and accept a layer at most at the one of index int(25,000 x 0.001) = 25, the 0.1% quantile
    rng = np.random.default_rng(dataset.config.mixing_seed)
    pool = rng.uniform(-1, 1, size=(25_000, 10, 10))
    pool /= np.sqrt(np.sum(pool * pool, axis=1, keepdims=True))
    assert dataset.condition_threshold == pytest.approx(np.sort(np.linalg.cond(pool))[25], rel=1e-12)
    for applied in dataset.mixing:
        weight = applied.T  # the reference's nn.Linear weight W: y = W x
        np.testing.assert_allclose(np.linalg.norm(weight, axis=0), 1.0)
        assert np.linalg.cond(weight) <= dataset.condition_threshold
    # about 0.1% of fresh draws pass the threshold: it is the rule's quantile, not a fixed bound
    fresh = np.random.default_rng(99).uniform(-1, 1, size=(25_000, 10, 10))
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    assert 5 <= np.sum(np.linalg.cond(fresh) <= dataset.condition_threshold) <= 60
    # the layers: LeakyReLU(0.2) between the linear maps, none after the last
    z = np.random.default_rng(1).standard_normal((4, 10))
    by_hand = z @ dataset.mixing[0]
    by_hand = np.where(by_hand > 0, by_hand, 0.2 * by_hand) @ dataset.mixing[1]
    by_hand = np.where(by_hand > 0, by_hand, 0.2 * by_hand) @ dataset.mixing[2]
    np.testing.assert_allclose(dataset.observations_from_factors(z, rng), by_hand, rtol=1e-5, atol=1e-5)


def test_reference_views_keep_content_and_perturb_style_by_a_standard_normal():
    dataset = SyntheticDataset()
    views = dataset.sample_views(4000, np.random.default_rng(0))
    query = _invert(dataset, views.query)
    np.testing.assert_allclose(query, views.query_factors, atol=1e-3)
    key = _invert(dataset, views.content_key)
    content, style = dataset.group_factor_indices("content"), dataset.group_factor_indices("group1")
    np.testing.assert_allclose(key[:, content], query[:, content], atol=1e-3)
    change = key[:, style] - query[:, style]  # s + N(0, 1): the change is standard normal, not a redraw
    assert abs(change.mean()) < 0.05 and change.std() == pytest.approx(1.0, abs=0.05)
    assert np.corrcoef(key[:, style].ravel(), query[:, style].ravel())[0, 1] == pytest.approx(1 / np.sqrt(2), abs=0.03)
    # the single group's key keeps every style coordinate: it is the query
    np.testing.assert_allclose(views.group_keys["group1"], views.query, atol=1e-6)


def test_reference_views_change_each_style_coordinate_with_probability_p():
    dataset = SyntheticDataset(SyntheticConfig(style_change_probability=0.3))
    views = dataset.sample_views(4000, np.random.default_rng(1))
    style = dataset.group_factor_indices("group1")
    changed = np.abs(_invert(dataset, views.content_key)[:, style] - views.query_factors[:, style]) > 1e-3
    assert changed.mean() == pytest.approx(0.3, abs=0.02)
    assert changed.any(axis=1).mean() == pytest.approx(1 - 0.7**5, abs=0.03)  # coordinates chosen independently


def test_reference_mode_with_several_groups_perturbs_every_other_group():
    dataset = SyntheticDataset(SyntheticConfig(num_styles=2))
    views = dataset.sample_views(500, np.random.default_rng(2))
    query = views.query_factors
    for group, other in (("group1", "group2"), ("group2", "group1")):
        key = _invert(dataset, views.group_keys[group])
        kept = dataset.group_factor_indices("content") + dataset.group_factor_indices(group)
        np.testing.assert_allclose(key[:, kept], query[:, kept], atol=1e-3)
        assert (np.abs(key[:, dataset.group_factor_indices(other)] - query[:, dataset.group_factor_indices(other)]) > 1e-6).all()


def test_bad_synthetic_options_are_refused():
    with pytest.raises(ValueError, match="style_change_probability must be in"):
        SyntheticConfig(style_change_probability=0.0)
    with pytest.raises(ValueError, match="mode must be one of reference, groups"):
        SyntheticConfig(mode="paper")
