import numpy as np
import pytest

from disbench.datasets import DATASETS
from disbench.datasets.synthetic import SyntheticConfig, SyntheticDataset
from disbench.errors import UsageError


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
    a, b = SyntheticDataset(), SyntheticDataset()
    for wa, wb in zip(a.mixing, b.mixing):
        np.testing.assert_array_equal(wa, wb)
        assert np.linalg.cond(wa) <= a.config.max_condition
        np.testing.assert_allclose(np.linalg.norm(wa, axis=0), 1.0)
    other = SyntheticDataset(SyntheticConfig(mixing_seed=1))
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
    dataset = SyntheticDataset()
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
