"""Stacked training: members equal their single runs, resume bit for bit, fail alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from disbench.errors import UsageError
from disbench.training.runs import load_run, resolve_run_spec, train_run
from disbench.training.stacked_runs import train_many
from disbench.training.stacking import Stack
from disbench.training.sweeps import parse_seeds, sweep_specs
from disbench.store import read_run_config, read_status
from disbench.training import CHECKPOINT, LOG, TrainingInterrupted, load_checkpoint
from tests.test_training import interrupt_at

TINY = {"checkpoint_every": "10", "batch_size": "8", "lr": "1e-3", "hidden": "16"}


def specs(method="beta-vae", key="beta", values=("1", "2"), seeds=(0, 1), steps=20, dataset="synthetic", **extra):
    return [
        resolve_run_spec(method, dataset, seed=seed, steps=steps, overrides={**TINY, **extra, key: value})
        for value in values for seed in seeds
    ]


def losses(run_dir):
    """Every logged loss of every step (FactorVAE's include its discriminator's)."""
    rows = [json.loads(line) for line in open(run_dir / LOG)]
    return np.array([[value for key, value in row.items() if key not in ("step", "lr")] for row in rows])


def parameters(run_dir):
    return load_checkpoint(run_dir / CHECKPOINT)["method"]["model"]


#: each method's own settings for the tiny runs (FactorVAE: a small discriminator, dlib's gammas)
EXTRA = {"factor-vae": {"discriminator_hidden": "16"}}
VALUES = {"factor-vae": ("10", "40")}


@pytest.mark.parametrize("method, key", [("beta-vae", "beta"), ("annealed-vae", "c_max"), ("beta-tcvae", "beta"),
                                         ("dip-vae-i", "lambda_od"), ("dip-vae-ii", "lambda_od"),
                                         ("factor-vae", "gamma")])
def test_stacked_members_equal_their_single_runs(tmp_path, method, key):
    if method == "beta-vae":
        sweep = specs(method, key, values=("1", "4"), seeds=(0, 1, 2, 3))
    else:
        sweep = specs(method, key, values=VALUES.get(method, ("1", "2")), **EXTRA.get(method, {}))
    stacked = train_many(sweep, tmp_path / "stacked", device="cpu")
    assert [r.status for r in stacked] == ["trained"] * len(sweep)
    for spec, member in zip(sweep, stacked):
        single = train_run(spec, tmp_path / "single", device="cpu")
        assert member.run_dir.name == single.run_dir.name  # its own config hash
        assert sorted(p.name for p in member.run_dir.iterdir()) == sorted(p.name for p in single.run_dir.iterdir())
        assert read_run_config(member.run_dir)["method_config"] == read_run_config(single.run_dir)["method_config"]
        assert read_status(member.run_dir)["state"] == "finished"
        assert losses(member.run_dir).shape == (20, 4 if method == "factor-vae" else 3)
        np.testing.assert_allclose(losses(member.run_dir), losses(single.run_dir), rtol=1e-4)
    # members differ: a stack that mixed them up would give equal losses
    assert not np.allclose(losses(stacked[0].run_dir), losses(stacked[1].run_dir))


def test_stacked_conv_vae_equals_single_runs(tmp_path):
    """dlib's conv encoder and deconv decoder under vmap (grouped convolutions)."""
    sweep = [
        resolve_run_spec("beta-vae", "dsprites", seed=seed, steps=3,
                         overrides={"dataset.source": "render", "batch_size": "2", "beta": beta})
        for seed, beta in ((0, "1"), (1, "8"))
    ]
    stacked = train_many(sweep, tmp_path / "stacked", device="cpu")
    for spec, member in zip(sweep, stacked):
        single = train_run(spec, tmp_path / "single", device="cpu")
        np.testing.assert_allclose(losses(member.run_dir), losses(single.run_dir), rtol=1e-4)


def test_a_stacked_member_loads_and_encodes_as_its_single_run(tmp_path):
    spec = specs(values=("2",), seeds=(5, 6))
    member = train_many(spec, tmp_path / "stacked", device="cpu")[0]
    single = train_run(spec[0], tmp_path / "single", device="cpu")
    _, dataset, stacked_method = load_run(member.run_dir)
    _, _, single_method = load_run(single.run_dir)
    x, _ = dataset.sample(32, np.random.default_rng(0))
    np.testing.assert_allclose(stacked_method.encode(x).spaces["latent"], single_method.encode(x).spaces["latent"],
                               rtol=1e-3, atol=1e-5)


def signal_at(monkeypatch, step_to_fail, error=None):
    interrupt_at(monkeypatch, step_to_fail, error, owner=Stack, name="losses")


@pytest.mark.parametrize("method, key", [("beta-vae", "beta"), ("factor-vae", "gamma")])
@pytest.mark.parametrize("how", ["signal", "crash"])
def test_a_killed_stacked_run_resumes_every_member_bit_for_bit(tmp_path, monkeypatch, how, method, key):
    """FactorVAE: the discriminators' parameters and Adam state (their own group) resume too."""
    sweep = specs(method, key, values=VALUES.get(method, ("1", "2")), steps=30, **EXTRA.get(method, {}))
    reference = train_many(sweep, tmp_path / "a", device="cpu")
    if how == "signal":
        signal_at(monkeypatch, 15)
        with pytest.raises(TrainingInterrupted, match="4 stacked runs saved at step 16/30"):
            train_many(sweep, tmp_path / "b", device="cpu")
        resumed_from, state = 16, "interrupted"
    else:
        signal_at(monkeypatch, 15, RuntimeError("killed"))
        with pytest.raises(RuntimeError):
            train_many(sweep, tmp_path / "b", device="cpu")
        resumed_from, state = 10, "failed"
    interrupted_dirs = [tmp_path / "b" / r.run_dir.name for r in reference]
    for run_dir in interrupted_dirs:
        assert read_status(run_dir)["state"] == state
        assert int(load_checkpoint(run_dir / CHECKPOINT)["step"]) == resumed_from
    resumed = train_many(sweep, tmp_path / "b", device="cpu")
    assert [r.status for r in resumed] == ["resumed"] * len(sweep)
    for ref, again in zip(reference, resumed):
        for name, value in parameters(ref.run_dir).items():
            assert torch.equal(value, parameters(again.run_dir)[name]), name
        assert (ref.run_dir / LOG).read_text() == (again.run_dir / LOG).read_text()
        assert read_status(again.run_dir)["state"] == "finished"
    assert [r.status for r in train_many(sweep, tmp_path / "b", device="cpu")] == ["skipped"] * len(sweep)


def poison_seed(monkeypatch, seed, from_step):
    """Feed NaN observations to the member of ``seed`` from ``from_step`` on (a diverging run)."""
    from disbench.methods.vae import VAEMethod

    original = VAEMethod.draw_inputs

    def poisoned(self, step, rng, generator=None):
        x, noise = original(self, step, rng, generator)
        return (x * float("nan"), noise) if self.seed == seed and step >= from_step else (x, noise)

    monkeypatch.setattr(VAEMethod, "draw_inputs", poisoned)


@pytest.mark.parametrize("method, key", [("beta-vae", "beta"), ("factor-vae", "gamma")])
def test_a_member_whose_loss_turns_nan_fails_alone(tmp_path, monkeypatch, method, key):
    sweep = specs(method, key, values=("2",), seeds=(0, 1, 2), steps=30, **EXTRA.get(method, {}))
    poison_seed(monkeypatch, 1, from_step=12)
    results = train_many(sweep, tmp_path / "runs", device="cpu")
    assert [r.status for r in results] == ["trained", "failed", "trained"]
    status = read_status(results[1].run_dir)
    assert status["state"] == "failed"
    assert "loss became nan at step 12; the checkpoint of step 10 is kept" in status["error"]
    kept = load_checkpoint(results[1].run_dir / CHECKPOINT)
    assert kept["step"] == 10 and all(torch.isfinite(v).all() for v in kept["method"]["model"].values())
    monkeypatch.undo()
    for spec, member in zip(sweep[::2], results[::2]):
        single = train_run(spec, tmp_path / "single", device="cpu")
        assert read_status(member.run_dir)["state"] == "finished"
        np.testing.assert_allclose(losses(member.run_dir), losses(single.run_dir), rtol=1e-4)


def test_cli_trains_a_sweep_stacked_and_exits_1_when_a_member_fails(cli, monkeypatch):
    base = ["train", "-m", "beta-vae", "--steps", "12", "--set", "hidden=16", "--set", "batch_size=8"]
    result = cli(*base, "--seeds", "0-1", "--set", "beta=1,2")
    assert result.exit_code == 0, result.output
    run_dirs = result.stdout.split()
    assert len(run_dirs) == 4 and len(set(run_dirs)) == 4
    assert {read_run_config(Path(d))["method_config"]["beta"] for d in run_dirs} == {1.0, 2.0}
    scored = cli("eval", "--metric", "mig", "--n-eval", "1000", "--n-test", "500")
    assert scored.exit_code == 0, scored.output
    assert all(Path(d).name in scored.stdout for d in run_dirs)
    report = cli("report", "--format", "csv")
    assert report.exit_code == 0 and "beta-vae" in report.stdout
    poison_seed(monkeypatch, 3, from_step=0)
    failing = cli(*base, "--seeds", "3-4")
    assert failing.exit_code == 1
    assert "1 of 2 runs failed" in failing.stderr and "loss became nan" in failing.stderr
    assert len(failing.stdout.split()) == 2


def test_a_method_that_cannot_stack_says_so_and_trains_one_by_one(cli):
    result = cli("train", "-m", "simclr", "--steps", "2", "--seeds", "0-1", "--set", "batch_size=4")
    assert result.exit_code == 0, result.output
    assert "simclr cannot train stacked (its training step is not written as" in result.stderr
    assert len(result.stdout.split()) == 2
    fitted = cli("train", "-m", "pca", "--seeds", "0-1", "--set", "num_fit=300")
    assert fitted.exit_code == 0, fitted.output
    assert "pca cannot train stacked (it is fitted in one call" in fitted.stderr
    assert len(fitted.stdout.split()) == 2


def test_seeds_and_sweeps_parse():
    assert parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    for bad in ("3-1", "a", "1-", ""):
        with pytest.raises(UsageError):
            parse_seeds(bad)
    sweep = sweep_specs("beta-vae", "synthetic", [0, 1], 5, {"beta": "1,2,4", "save_at": "2,4"})
    assert len(sweep) == 6  # save_at is a list of steps, not a sweep
    assert {s.method_config["beta"] for s in sweep} == {1.0, 2.0, 4.0}
    assert all(s.method_config["save_at"] == [2, 4] for s in sweep)
