"""Every registered method trains briefly and encodes (parametrised over the registry)."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.methods import METHODS
from disbench.methods.representation import Representation
from disbench.presets import preset_entry, tiny_overrides
from disbench.training.runs import load_run, resolve_run_spec, train_run

def tiny_spec(name: str):
    """The method's tiny run: the steps, datasets and hyperparameters of its preset's ``tiny:`` section."""
    tiny = preset_entry(name, "tiny")
    dataset = (tiny.get("datasets") or ["synthetic"])[0]
    return resolve_run_spec(name, dataset, seed=0, steps=tiny.get("steps"), overrides=tiny_overrides(name))


@pytest.mark.parametrize("name", list(METHODS))
def test_method_trains_and_encodes(name, tmp_path):
    spec = tiny_spec(name)
    result = train_run(spec, tmp_path / "runs", device="cpu")
    assert result.status == "trained"
    _, dataset, method = load_run(result.run_dir)
    observations, factors = dataset.sample(50, np.random.default_rng(1))
    representation = method.encode(observations, factors if method.reads_factors else None)
    assert isinstance(representation, Representation)
    assert representation.spaces
    for space, codes in representation.spaces.items():
        assert codes.shape[0] == 50 and codes.ndim == 2, space
        assert np.isfinite(codes).all(), space


@pytest.mark.parametrize("name", [n for n in METHODS if METHODS.get(n).trainable])
def test_trainable_method_is_deterministic(name, tmp_path):
    spec = tiny_spec(name)
    a = train_run(spec, tmp_path / "a", device="cpu")
    b = train_run(spec, tmp_path / "b", device="cpu")
    x, f = load_run(a.run_dir)[1].sample(20, np.random.default_rng(2))
    codes_a = load_run(a.run_dir)[2].encode(x).joint()
    codes_b = load_run(b.run_dir)[2].encode(x).joint()
    np.testing.assert_array_equal(codes_a, codes_b)


def test_oracle_spaces_follow_groups(tmp_path):
    spec = resolve_run_spec("oracle", "synthetic", overrides={"mode": "groups"})  # two style groups
    result = train_run(spec, tmp_path / "runs", device="cpu")
    _, dataset, oracle = load_run(result.run_dir)
    x, f = dataset.sample(10, np.random.default_rng(0))
    spaces = oracle.encode(x, f).spaces
    assert list(spaces) == ["content", "style:group1", "style:group2"]
    np.testing.assert_array_equal(spaces["content"], f[:, dataset.group_factor_indices("content")])


def test_vae_learns_to_reconstruct(tmp_path):
    """Direction of the effect: 300 steps lower the reconstruction error well below its start."""
    import json

    spec = resolve_run_spec("beta-vae", "synthetic", seed=0, steps=300, overrides={"lr": "1e-3", "beta": "1", "mode": "groups"})
    result = train_run(spec, tmp_path / "runs", device="cpu")
    log = [json.loads(line) for line in (result.run_dir / "log.jsonl").read_text().splitlines()]
    start = np.mean([e["reconstruction"] for e in log[:20]])
    end = np.mean([e["reconstruction"] for e in log[-20:]])
    assert end < 0.7 * start


def test_pca_codes_are_decorrelated_on_their_fitting_sample(tmp_path):
    result = train_run(resolve_run_spec("pca", "synthetic", overrides={"num_fit": "2000"}), tmp_path / "runs", device="cpu")
    _, dataset, pca = load_run(result.run_dir)
    x, _ = dataset.sample(2000, np.random.default_rng(0))  # the sample PCA was fitted on (run seed 0)
    covariance = np.cov(pca.encode(x).spaces["latent"].T)
    off_diagonal = covariance - np.diag(np.diag(covariance))
    assert np.abs(off_diagonal).max() < 1e-8 * np.abs(covariance).max()
    assert np.all(np.diff(np.diag(covariance)) <= 1e-9)  # components ordered by explained variance
