"""The product-manifold dataset, the subspace-angle metric and the geomancer method."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from disbench.datasets.product_manifold import ProductManifoldConfig, ProductManifoldDataset, parse_spec
from disbench.errors import UsageError
from disbench.metrics.base import METRICS, EncoderMetric
from disbench.metrics.subspace_angle import (
    RIGHT_ANGLE,
    SubspaceAngleOptions,
    factor_angles,
    matched_angle,
)
from disbench.methods.representation import Representation


def dataset(**options) -> ProductManifoldDataset:
    return ProductManifoldDataset(ProductManifoldConfig(**options))


# --- dataset ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["S2xS2", "SO3xS2", "S2xS4xSO3", "S1xS1"])
def test_true_tangents_are_orthonormal_and_tangent(spec):
    data = dataset(spec=spec)
    factors = data.sample_factors(64, np.random.default_rng(0))
    tangents = data.true_tangents(factors)
    assert [t.shape[2] for t in tangents] == [c.intrinsic_dim for c in data.components]
    frame = np.concatenate(tangents, axis=2)
    k = frame.shape[2]
    np.testing.assert_allclose(np.einsum("ndi,ndj->nij", frame, frame), np.broadcast_to(np.eye(k), (64, k, k)), atol=1e-12)
    for component, block, tangent in zip(data.components, data.split(factors), tangents):
        if component.kind == "S":  # unit norm, tangent vectors orthogonal to the point
            np.testing.assert_allclose(np.linalg.norm(block, axis=1), 1.0)
        else:  # rotations with det 1; tangent vectors R * skew
            rotation = block.reshape(-1, component.n, component.n)
            np.testing.assert_allclose(rotation @ np.swapaxes(rotation, 1, 2), np.broadcast_to(np.eye(component.n), rotation.shape), atol=1e-12)
            np.testing.assert_allclose(np.linalg.det(rotation), 1.0)


def test_sphere_tangents_are_orthogonal_to_the_point():
    data = dataset(spec="S4")
    x = data.sample_factors(32, np.random.default_rng(0))
    np.testing.assert_allclose(np.einsum("nd,ndj->nj", x, data.true_tangents(x)[0]), 0, atol=1e-12)


def test_nonlinear_embedding_tangents_match_finite_differences():
    data = dataset(spec="S2xS2", rotate=True, embedding="nonlinear", embedding_dim=9)
    factors = data.sample_factors(5, np.random.default_rng(0))
    tangents = data.true_tangents(factors)
    product = data.product_tangents(factors)
    eps = 1e-6
    for truth, direction in zip(tangents, product):
        moved = data._embed(factors + eps * direction[:, :, 0])[0] - data._embed(factors - eps * direction[:, :, 0])[0]
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        residual = moved - np.einsum("ndj,nj->nd", truth, np.einsum("ndj,nd->nj", truth, moved))
        assert np.abs(residual).max() < 1e-6  # the pushed-forward direction lies in the true subspace
    assert data.observation_shape == (9,)


def test_views_share_one_component():
    data = dataset(spec="S2xSO3")
    views = data.sample_views(8, np.random.default_rng(0))
    assert set(views.group_keys) == {"S2", "SO3"}
    np.testing.assert_allclose(views.group_keys["S2"][:, :3], views.query[:, :3], atol=1e-6)
    assert np.abs(views.group_keys["S2"][:, 3:] - views.query[:, 3:]).max() > 1e-3


@pytest.mark.parametrize("spec", ["S2xT3", "S2x", "SO1", "", "s2xs2"])
def test_bad_spec_is_one_clear_line(spec):
    with pytest.raises(UsageError, match="spec") as info:
        parse_spec(spec)
    assert "\n" not in str(info.value)


# --- metric -------------------------------------------------------------------------------


def perfect_subspaces(data, factors, rng, permute: bool = False):
    tangents = data.true_tangents(factors)
    order = list(range(len(tangents)))[::-1] if permute else list(range(len(tangents)))
    bases = np.concatenate([tangents[j] @ random_rotation(rng, tangents[j].shape[2]) for j in order], axis=2)
    labels = np.concatenate([np.full(tangents[j].shape[2], i) for i, j in enumerate(order)])
    return bases, np.broadcast_to(labels, (len(factors), len(labels))).copy(), np.full(len(factors), len(tangents))


def random_rotation(rng, k):
    q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return q


def test_perfect_and_permuted_subspaces_score_zero():
    data, rng = dataset(spec="S2xSO3"), np.random.default_rng(0)
    factors = data.sample_factors(50, rng)
    for permute in (False, True):
        bases, labels, counts = perfect_subspaces(data, factors, rng, permute)
        angles = matched_angle(factor_angles(data.true_tangents(factors), bases, labels), counts)
        np.testing.assert_allclose(angles, 0, atol=1e-6)


def test_angles_agree_with_scipy_subspace_angles():
    data, rng = dataset(spec="S2xS2"), np.random.default_rng(0)
    factors = data.sample_factors(20, rng)
    bases = np.linalg.qr(rng.standard_normal((20, 6, 4)))[0]
    labels = np.broadcast_to(np.array([0, 0, 1, 1]), (20, 4)).copy()
    angles = factor_angles(data.true_tangents(factors), bases, labels)
    truth = data.true_tangents(factors)
    for n in range(20):
        for j in range(2):
            for l in range(2):
                expected = scipy.linalg.subspace_angles(truth[j][n], bases[n][:, labels[n] == l]).max()
                assert abs(angles[n, j, l] - expected) < 1e-8
    assert np.all(angles[:, :, 2:] == RIGHT_ANGLE)  # absent factors


def test_wrong_factor_count_scores_a_right_angle_as_a_whole_and_lenient_gives_partial_credit():
    data, rng = dataset(spec="S2xS2"), np.random.default_rng(0)
    factors = data.sample_factors(10, rng)
    tangents = data.true_tangents(factors)
    bases, labels, _ = perfect_subspaces(data, factors, rng)
    one_factor = np.zeros_like(labels)  # everything lumped: dimension 4 matches neither
    for lenient in (False, True):
        assert np.allclose(matched_angle(factor_angles(tangents, bases, one_factor), np.ones(10, int), lenient), RIGHT_ANGLE)
    three = labels.copy()
    three[:, 3] = 2  # splits factor 1: factor 0 still exact, yet the count is wrong
    angles = factor_angles(tangents, bases, three)
    np.testing.assert_allclose(matched_angle(angles, np.full(10, 3)), RIGHT_ANGLE)  # the reference's rule
    np.testing.assert_allclose(matched_angle(angles, np.full(10, 3), lenient=True), 2 * RIGHT_ANGLE / 3, atol=1e-6)


def reference_avg_angle(true_parts: list[np.ndarray], found_parts: list[np.ndarray]) -> float:
    """The reference's avg_angle_between_subspaces, transcribed: every permutation, largest angle per pair."""
    import itertools

    if len(true_parts) != len(found_parts):
        return np.pi / 2
    means = []
    for permuted in itertools.permutations(found_parts):
        angles = [
            np.arccos(np.clip(np.linalg.svd(t.T @ f, compute_uv=False).min(), 0, 1)) if t.shape[1] == f.shape[1] else np.pi / 2
            for t, f in zip(true_parts, permuted)
        ]
        means.append(np.mean(angles))
    return float(min(means))


def test_matched_angle_equals_the_references_permutation_search():
    data, rng = dataset(spec="S1xS2xS1"), np.random.default_rng(3)
    factors = data.sample_factors(40, rng)
    truth = data.true_tangents(factors)
    bases = np.linalg.qr(np.concatenate(truth, axis=2) + 0.4 * rng.standard_normal((40, 7, 4)))[0]
    # per point a random grouping of the 4 directions into 1 to 4 factors (labels 0..count-1)
    labels = np.stack([np.sort(rng.integers(0, c, 4)) for c in rng.integers(1, 5, 40)])
    labels = np.stack([np.unique(row, return_inverse=True)[1] for row in labels])
    counts = labels.max(axis=1) + 1
    assert set(counts) >= {2, 3}  # both right and wrong counts occur
    ours = matched_angle(factor_angles(truth, bases, labels), counts)
    expected = [
        reference_avg_angle([t[n] for t in truth], [bases[n][:, labels[n] == l] for l in range(counts[n])])
        for n in range(40)
    ]
    np.testing.assert_allclose(ours, expected, atol=1e-9)


def test_random_subspaces_score_far_worse_than_perfect():
    data, rng = dataset(spec="S2xS2"), np.random.default_rng(0)
    factors = data.sample_factors(200, rng)
    bases = np.linalg.qr(rng.standard_normal((200, 6, 4)))[0]
    labels = np.broadcast_to(np.array([0, 0, 1, 1]), (200, 4)).copy()
    assert matched_angle(factor_angles(data.true_tangents(factors), bases, labels), np.full(200, 2)).mean() > 0.8


class FixedSubspaces:
    """An encoder returning perfect (or rotated-away) subspaces for given factors."""

    def __init__(self, data, rng, scramble: bool = False):
        self.data, self.rng, self.scramble = data, rng, scramble

    def __call__(self, observations, factors):
        bases, labels, counts = perfect_subspaces(self.data, factors, self.rng)
        if self.scramble:
            bases = np.linalg.qr(self.rng.standard_normal(bases.shape))[0]
        extras = {"bases": bases, "factor_labels": labels, "factor_counts": counts}
        return Representation({"points": observations.reshape(len(observations), -1)}, extras)


def test_metric_through_the_registry_with_unaligned_variant():
    info = METRICS.get("subspace-angle")
    assert isinstance(info, EncoderMetric) and not info.higher_is_better
    data = dataset(spec="S2xS2", rotate=True)
    options = SubspaceAngleOptions(num_points=200, alignment_neighbors=10)
    good = info.compute(FixedSubspaces(data, np.random.default_rng(0)), "points", data, options, np.random.default_rng(1))
    scores = {s.metric: s.value for s in good.scores}
    assert scores["subspace-angle"] < 1e-6 and scores["subspace-angle.right_count"] == 1.0
    assert scores["subspace-angle.unaligned"] < 0.3  # CCA on a curved neighbourhood is not exact
    bad = info.compute(FixedSubspaces(data, np.random.default_rng(0), True), "points", data, options, np.random.default_rng(1))
    bad_scores = {s.metric: s.value for s in bad.scores}
    assert bad_scores["subspace-angle"] > 0.8 and bad_scores["subspace-angle.unaligned"] > scores["subspace-angle.unaligned"] + 0.3


def test_metric_refuses_datasets_without_tangents_and_methods_without_subspaces():
    from disbench.datasets import DATASETS

    info = METRICS.get("subspace-angle")
    with pytest.raises(UsageError, match="true tangent spaces"):
        info.compute(None, "latent", DATASETS.get("synthetic")(), SubspaceAngleOptions(), np.random.default_rng(0))
    codes_only = lambda x, f: Representation({"latent": x.reshape(len(x), -1)})  # noqa: E731
    with pytest.raises(UsageError, match="use a method that returns them"):
        info.compute(codes_only, "latent", dataset(), SubspaceAngleOptions(num_points=10), np.random.default_rng(0))


# --- method -----------------------------------------------------------------------------------


def fitted_method(num_points: int = 800, spec: str = "S2xS2"):
    from disbench.methods import METHODS

    cls = METHODS.get("geomancer")
    method = cls(cls.Config(num_points=num_points, intrinsic_dim=4), dataset(spec=spec), seed=0)
    method.fit_arrays(np.random.default_rng(0))
    return method


def test_method_scores_well_and_round_trips_through_torch_save(tmp_path):
    import torch

    method = fitted_method()
    assert method.fit_report["separable"] and method.fit_report["num_factors"] == 2
    info = METRICS.get("subspace-angle")
    options = SubspaceAngleOptions(points="sampled", num_points=300, alignment_neighbors=0)
    result = info.compute(method.encode, "points", method.dataset, options, np.random.default_rng(5))
    angle = {s.metric: s.value for s in result.scores}["subspace-angle"]
    assert angle < 0.5  # new points: local PCA plus the transported split of the nearest fitted point
    assert result.details["separable"] is True
    torch.save(method.state_dict(), tmp_path / "state.pt")
    clone = type(method)(method.config, method.dataset, seed=0)
    clone.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    x = method.points[:20]
    np.testing.assert_allclose(clone.encode(x).extras["bases"], method.encode(x).extras["bases"])


def test_encoding_a_fitted_point_returns_its_own_split():
    method = fitted_method(400)
    rep = method.encode(method.points[:10])
    expected = np.einsum("nkd,nkj->ndj", method.tangents[:10], method.directions[:10])
    np.testing.assert_allclose(rep.extras["bases"], expected, atol=1e-12)
    assert rep.spaces["points"].shape == (10, 6)
    assert rep.extras["spectrum"].shape == (10, 10)


def test_method_warns_and_reports_when_not_separable():
    from disbench.methods import METHODS

    cls = METHODS.get("geomancer")
    method = cls(cls.Config(num_points=600, intrinsic_dim=2, num_neighbors=6), dataset(spec="S1xS1"), seed=0)
    with pytest.warns(UserWarning, match="not separable"):
        method.fit_arrays(np.random.default_rng(0))
    assert method.fit_report["separable"] is False
    assert not method.encode(method.points[:3]).extras["separable"].any()


def test_encode_before_fit_and_wrong_width_are_clear():
    from disbench.methods import METHODS

    cls = METHODS.get("geomancer")
    method = cls(cls.Config(num_points=50), dataset(), seed=0)
    with pytest.raises(UsageError, match="not been fitted"):
        method.encode(np.zeros((2, 6)))
    with pytest.raises(UsageError, match="fitted on 6-dimensional points, got 5"):
        fitted_method(400).encode(np.zeros((2, 5)))


def test_metric_scores_the_fitted_points_by_default_as_the_reference():
    method = fitted_method(600)
    points, factors = method.fitted_sample()
    assert points.shape == (600, 6) and factors.shape == (600, 6)

    def encode(observations, factors=None):
        return method.encode(observations)

    encode.fitted_sample = method.fitted_sample
    info = METRICS.get("subspace-angle")
    result = info.compute(encode, "points", method.dataset, SubspaceAngleOptions(alignment_neighbors=0), np.random.default_rng(5))
    scores = {s.metric: s.value for s in result.scores}
    assert result.details["points_scored"] == "fitted" and result.details["num_points_scored"] == 600
    # independently: the fit's own split at each fitted point against the true tangents of its factors
    own_bases = np.einsum("nkd,nkj->ndj", method.tangents, method.directions)
    expected = matched_angle(factor_angles(method.dataset.true_tangents(factors), own_bases, method.labels), method.counts)
    assert np.isclose(scores["subspace-angle"], expected.mean())
    sampled = info.compute(encode, "points", method.dataset, SubspaceAngleOptions(points="sampled", num_points=300, alignment_neighbors=0), np.random.default_rng(5))
    assert sampled.details["points_scored"] == "sampled" and sampled.details["num_points_scored"] == 300


def test_old_checkpoint_without_factors_asks_for_a_retrain():
    method = fitted_method(400)
    state = method.state_dict()
    del state["factors"]  # as written before the fitted points' factors were kept
    clone = type(method)(method.config, method.dataset, seed=0)
    clone.load_state_dict(state)
    with pytest.raises(UsageError, match="--overwrite"):
        clone.fitted_sample()


def test_cli_eval_of_a_geomancer_run_scores_its_fitted_points(cli):
    import json
    from pathlib import Path

    from disbench.training.runs import load_run

    result = cli("train", "-m", "geomancer", "-d", "product-manifold", "--set", "num_points=600", "--set", "intrinsic_dim=4", "-q")
    run_dir = result.stdout.strip().splitlines()[-1]
    cli("eval", run_dir, "-M", "subspace-angle", "--n-eval", "50", "--n-test", "10", "-q")
    results = json.loads((Path(run_dir) / "results.json").read_text())
    entry = results["subspace-angle"][0]["spaces"]["points"]  # the one protocol it was scored at
    assert entry["details"]["points_scored"] == "fitted" and entry["details"]["num_points_scored"] == 600
    _, data, method = load_run(run_dir)
    own_bases = np.einsum("nkd,nkj->ndj", method.tangents, method.directions)
    expected = matched_angle(factor_angles(data.true_tangents(method.factors), own_bases, method.labels), method.counts).mean()
    score = {s["metric"]: s["value"] for s in entry["scores"]}["subspace-angle"]
    assert np.isclose(score, expected)
