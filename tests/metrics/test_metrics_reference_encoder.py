"""BetaVAE score, FactorVAE score and explicitness against transcriptions of disentanglement_lib.

The two encoder scores draw their own batches. disbench draws them all at once, dlib one
batch at a time, so the same seed gives different batches. The tests therefore record every
batch disbench encodes and replay them to the transcriptions (metrics_dlib_reference.py),
which run dlib's loops unchanged on a ``ground_truth_data`` and a ``random_state`` that
hand out the recorded batches and fixed factors in order: both must then compute the same
number. A constructed case shows why the FactorVAE score divides by the global variances.
"""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.base import Dataset, Factor
from disbench.metrics import METRICS, MetricInput
from disbench.methods.representation import Representation

import metrics_dlib_reference as dlib

SIZES = (3, 4, 5)
# each code dimension mixes the factors, and the dimensions have very different scales, so
# the scores are neither 0 nor 1 and the FactorVAE score's global-variance scaling matters
MIXING = np.array([[1.0, 0.6, 0.0], [0.0, 1.0, 0.9], [0.5, 0.0, 1.0]]) * np.array([1.0, 30.0, 0.05])


class GridDataset(Dataset):
    """Three uniform discrete factors (3, 4, 5 values); observations are the indices plus noise."""

    def __init__(self, noise: float = 0.3) -> None:
        super().__init__()
        self.factors = [Factor(name, "content", k) for name, k in zip("abc", SIZES)]
        self.observation_shape = (3,)
        self.noise = noise

    def sample_factors(self, n, rng):
        return np.stack([rng.integers(0, k, n) for k in SIZES], axis=1)

    def observations_from_factors(self, factors, rng):
        return factors + self.noise * rng.normal(size=factors.shape)


def mixed_codes(observations: np.ndarray) -> np.ndarray:
    return np.tanh(observations / 2.0) @ MIXING


class RecordingEncoder:
    """The encoder handed to disbench: mixed codes, and a record of every batch in call order."""

    def __init__(self, representation=mixed_codes) -> None:
        self.representation = representation
        self.factors: list[np.ndarray] = []
        self.observations: list[np.ndarray] = []

    def __call__(self, observations, factors):
        self.factors.append(np.array(factors))
        self.observations.append(np.array(observations))
        return Representation({"latent": self.representation(np.asarray(observations))})

    def stream(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self.factors), np.concatenate(self.observations)


class ReplayedData:
    """dlib's GroundTruthData interface over recorded rows: each call takes the next rows."""

    def __init__(self, factors: np.ndarray, observations: np.ndarray) -> None:
        self.num_factors = factors.shape[1]
        self.factors, self.observations = factors, observations
        self.next_factors = self.next_observations = 0

    def sample_factors(self, num, random_state):
        rows = self.factors[self.next_factors : self.next_factors + num].copy()
        self.next_factors += num
        return rows

    def sample_observations_from_factors(self, factors, random_state):
        start = self.next_observations
        np.testing.assert_array_equal(factors, self.factors[start : start + len(factors)])  # dlib's fix-up changed nothing
        self.next_observations += len(factors)
        return self.observations[start : start + len(factors)]

    def sample_observations(self, num, random_state):
        return self.sample_observations_from_factors(self.sample_factors(num, random_state), random_state)

    def finished(self) -> bool:
        return self.next_factors == self.next_observations == len(self.factors)


class ReplayedRandomState(np.random.RandomState):
    """A RandomState whose ``randint`` returns the recorded fixed factors in order."""

    def __init__(self, fixed: list[int]) -> None:
        super().__init__(0)
        self.fixed = list(fixed)

    def randint(self, *args, **kwargs):
        return self.fixed.pop(0)


def the_constant_column(block: np.ndarray) -> int:
    (column,) = np.flatnonzero((block == block[:1]).all(axis=0))  # exactly one factor is held fixed
    return int(column)


def the_shared_column(first: np.ndarray, second: np.ndarray) -> int:
    (column,) = np.flatnonzero((first == second).all(axis=0))
    return int(column)


def run_disbench(name: str, encoder, dataset, **options):
    metric = METRICS.get(name)
    result = metric.compute(encoder, "latent", dataset, metric.Options(**options), np.random.default_rng(0))
    return {s.metric: s.value for s in result.scores if s.factor == "all"}


BATCH, TRAIN, EVAL = 16, 400, 200


def test_beta_vae_score_equals_dlib_on_the_same_batches():
    encoder = RecordingEncoder()
    ours = run_disbench("beta-vae", encoder, GridDataset(), batch_size=BATCH, num_train=TRAIN, num_eval=EVAL)
    factors, observations = encoder.stream()
    assert len(factors) == (TRAIN + EVAL) * 2 * BATCH
    pairs = factors.reshape(-1, 2, BATCH, len(SIZES))
    fixed = [the_shared_column(first, second) for first, second in pairs]
    data = ReplayedData(factors, observations)
    reference = dlib.beta_vae(data, mixed_codes, ReplayedRandomState(fixed), BATCH, TRAIN, EVAL)
    assert data.finished()
    assert 0.4 < reference["eval_accuracy"] < 0.98  # neither trivial nor perfect
    assert ours["beta-vae"] == pytest.approx(reference["eval_accuracy"], abs=1e-12)
    assert ours["beta-vae.train"] == pytest.approx(reference["train_accuracy"], abs=1e-12)


VARIANCE_ROWS = 1000


def factor_vae_against_dlib(representation) -> tuple[dict[str, float], dict[str, float]]:
    encoder = RecordingEncoder(representation)
    ours = run_disbench(
        "factor-vae", encoder, GridDataset(), batch_size=BATCH, num_train=TRAIN, num_eval=EVAL,
        num_variance_estimate=VARIANCE_ROWS,
    )
    factors, observations = encoder.stream()
    assert len(factors) == VARIANCE_ROWS + (TRAIN + EVAL) * BATCH
    blocks = factors[VARIANCE_ROWS:].reshape(-1, BATCH, len(SIZES))
    fixed = [the_constant_column(block) for block in blocks]
    data = ReplayedData(factors, observations)
    reference = dlib.factor_vae(data, representation, ReplayedRandomState(fixed), BATCH, TRAIN, EVAL, VARIANCE_ROWS)
    assert data.finished()
    return ours, reference


def test_factor_vae_score_equals_dlib_on_the_same_batches():
    ours, reference = factor_vae_against_dlib(mixed_codes)
    assert 0.4 < reference["eval_accuracy"] < 0.98
    assert ours["factor-vae"] == pytest.approx(reference["eval_accuracy"], abs=1e-12)
    assert ours["factor-vae.train"] == pytest.approx(reference["train_accuracy"], abs=1e-12)


def test_factor_vae_score_scales_by_the_global_variance():
    # one dimension per factor, on scales 1, 100 and 0.1: the small third dimension varies
    # less over the whole data than the others do with their own factor fixed (noise 0.3), so
    # without dividing by the global variance it wins almost every vote (accuracy ~ 1/3);
    # scaled, each fixed factor's own dimension wins (accuracy ~ 1)
    def scaled_identity(observations):
        return np.asarray(observations) * np.array([1.0, 100.0, 0.1])

    ours, reference = factor_vae_against_dlib(scaled_identity)
    assert reference["eval_accuracy"] > 0.95
    assert ours["factor-vae"] == pytest.approx(reference["eval_accuracy"], abs=1e-12)
    unscaled = np.var(scaled_identity(GridDataset().observations_from_factors(
        GridDataset().sample_factors(500, np.random.default_rng(1)), np.random.default_rng(2))), axis=0)
    assert unscaled[2] < 0.3**2  # the case is what it claims


@pytest.mark.parametrize("seed", [0, 1])
def test_explicitness_equals_dlib(seed):
    rng = np.random.default_rng(seed)
    dataset = GridDataset(noise=0.8)
    train_factors, test_factors = dataset.sample_factors(1200, rng), dataset.sample_factors(600, rng)
    codes = mixed_codes(dataset.observations_from_factors(train_factors, rng))
    test_codes = mixed_codes(dataset.observations_from_factors(test_factors, rng))
    info = [Factor(name, "content", k) for name, k in zip("abc", SIZES)]
    metric = METRICS.get("explicitness")
    result = metric.compute(
        MetricInput(codes, train_factors, info, test_codes, test_factors), metric.Options(), np.random.default_rng(0)
    )
    ours = {s.metric: s.value for s in result.scores if s.factor == "all"}
    reference = dlib.explicitness(codes, train_factors, test_codes, test_factors)
    assert 0.6 < reference["explicitness_score_test"] < 0.99
    assert ours["explicitness"] == pytest.approx(reference["explicitness_score_test"], abs=1e-6)
    assert ours["explicitness.train"] == pytest.approx(reference["explicitness_score_train"], abs=1e-6)
