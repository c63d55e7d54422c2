"""BetaVAE and FactorVAE scores: they render their own batches with one factor fixed."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.base import Dataset, Factor
from disbench.datasets.synthetic import SyntheticDataset
from disbench.errors import UsageError
from disbench.metrics import METRICS
from disbench.metrics.base import EncoderMetric
from disbench.methods.representation import Representation

# the encoder metrics that hold one factor fixed per batch (subspace-angle, also an encoder
# metric, reads per-point subspaces instead: tests/test_geomancer_data_metric.py)
ENCODER_METRICS = [
    name for name, info in METRICS.items() if isinstance(info, EncoderMetric) and "batch_size" in info.option_names()
]


class GridDataset(Dataset):
    """Three uniform discrete factors (3, 4, 5 values); observations are the indices plus noise."""

    def __init__(self) -> None:
        super().__init__()
        self.factors = [Factor("a", "content", 3), Factor("b", "content", 4), Factor("c", "content", 5)]
        self.observation_shape = (3,)

    def sample_factors(self, n, rng):
        return np.stack([rng.integers(0, f.num_values, n) for f in self.factors], axis=1)

    def observations_from_factors(self, factors, rng):
        return (factors + 0.01 * rng.normal(size=factors.shape)).astype(np.float32)


def identity_encoder(observations, factors):
    return Representation({"latent": np.asarray(observations, dtype=np.float64)})


def entangled_encoder(observations, factors):
    # every dimension is the same sum of all factors: no dimension tracks one factor
    summed = np.asarray(observations, dtype=np.float64).sum(axis=1, keepdims=True)
    return Representation({"latent": np.repeat(summed, 3, axis=1) + 0.01 * np.arange(3)})


def small_options(name):
    return METRICS.get(name).Options(batch_size=16, num_train=300, num_eval=150)


def score(name, encoder, dataset=None):
    metric = METRICS.get(name)
    result = metric.compute(encoder, "latent", dataset or GridDataset(), small_options(name), np.random.default_rng(0))
    return next(s.value for s in result.scores if s.metric == name)


def test_both_encoder_metrics_are_registered():
    assert sorted(ENCODER_METRICS) == ["beta-vae", "factor-vae"]


@pytest.mark.parametrize("name", ENCODER_METRICS)
def test_identity_codes_score_near_one(name):
    # holding factor k fixed zeroes the k-th code difference/variance and no other: the
    # classifier (or the least-variance vote) reads k off perfectly
    assert score(name, identity_encoder) > 0.95


@pytest.mark.parametrize("name", ENCODER_METRICS)
def test_entangled_codes_score_lower(name):
    # a code that sums the factors barely changes with which factor is fixed; chance is 1/3
    assert score(name, entangled_encoder) < 0.8


@pytest.mark.parametrize("name", ENCODER_METRICS)
def test_same_seed_same_score(name):
    assert score(name, identity_encoder) == score(name, identity_encoder)


@pytest.mark.parametrize("name", ENCODER_METRICS)
def test_continuous_factors_are_refused(name):
    with pytest.raises(UsageError, match="discrete factors"):
        score(name, identity_encoder, SyntheticDataset())


def test_factor_vae_without_active_dimensions_scores_zero():
    def constant_encoder(observations, factors):
        return Representation({"latent": np.zeros((len(observations), 3))})

    assert score("factor-vae", constant_encoder) == 0.0
