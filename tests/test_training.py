"""The shared loop: checkpoints, resumption after a signal or a crash, NaN handling."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

from disbench.errors import DisbenchError
from disbench.runs import load_run, resolve_run_spec, train
from disbench.store import read_status
from disbench.training import CHECKPOINT, LOG, TrainingInterrupted, load_checkpoint

STEPS = 40


def spec(**overrides):
    return resolve_run_spec(
        "beta-vae", "synthetic", seed=3, steps=STEPS,
        overrides={"checkpoint_every": "10", "batch_size": "16", "lr": "1e-3", "hidden": "32", **overrides},
    )


def trained_state(run_dir):
    _, dataset, method = load_run(run_dir)
    x, _ = dataset.sample(64, np.random.default_rng(0))
    return method.encode(x).spaces["latent"], {k: v.clone() for k, v in method.model.state_dict().items()}


def interrupt_at(monkeypatch, step_to_fail: int, error: BaseException | None):
    """Make the VAE's training step raise (or signal) once, at ``step_to_fail``."""
    from disbench.methods.vae import VAEMethod

    original = VAEMethod.training_step
    fired = {"done": False}

    def flaky(self, step, rng):
        if step == step_to_fail and not fired["done"]:
            fired["done"] = True
            if error is None:
                os.kill(os.getpid(), signal.SIGINT)
            else:
                raise error
        return original(self, step, rng)

    monkeypatch.setattr(VAEMethod, "training_step", flaky)


def test_identical_rerun_is_skipped(tmp_path):
    first = train(spec(), tmp_path / "runs", device="cpu")
    assert first.status == "trained"
    again = train(spec(), tmp_path / "runs", device="cpu")
    assert again.status == "skipped" and again.run_dir == first.run_dir
    fresh = train(spec(), tmp_path / "runs", device="cpu", overwrite=True)
    assert fresh.status == "trained"


@pytest.mark.parametrize("how", ["signal", "crash"])
def test_resumed_run_matches_uninterrupted_run(tmp_path, monkeypatch, how):
    reference = train(spec(), tmp_path / "a", device="cpu")
    codes_ref, params_ref = trained_state(reference.run_dir)

    if how == "signal":
        interrupt_at(monkeypatch, 25, None)
        with pytest.raises(TrainingInterrupted, match="checkpoint saved at step 26/40"):
            train(spec(), tmp_path / "b", device="cpu")
        resumed_from = 26
    else:
        interrupt_at(monkeypatch, 25, RuntimeError("killed"))
        with pytest.raises(RuntimeError):
            train(spec(), tmp_path / "b", device="cpu")
        resumed_from = 20  # the last periodic checkpoint
    run_dir = tmp_path / "b" / reference.run_dir.name
    assert int(load_checkpoint(run_dir / CHECKPOINT)["step"]) == resumed_from
    assert read_status(run_dir)["state"] != "finished"

    resumed = train(spec(), tmp_path / "b", device="cpu")
    assert resumed.status == "resumed"
    codes, params = trained_state(resumed.run_dir)
    np.testing.assert_array_equal(codes, codes_ref)
    for name in params_ref:
        assert torch.equal(params[name], params_ref[name]), name
    steps_logged = [json.loads(line)["step"] for line in (run_dir / LOG).read_text().splitlines()]
    assert steps_logged == list(range(STEPS))


def test_nan_loss_stops_and_keeps_last_checkpoint(tmp_path, monkeypatch):
    from disbench.methods.vae import VAEMethod

    original = VAEMethod.training_step

    def poisoned(self, step, rng):
        losses = original(self, step, rng)
        if step == 15:
            losses["loss"] = losses["loss"] * float("nan")
        return losses

    monkeypatch.setattr(VAEMethod, "training_step", poisoned)
    with pytest.raises(DisbenchError, match="loss became nan at step 15; the checkpoint of step 10 is kept"):
        train(spec(), tmp_path / "runs", device="cpu")
    run_dir = next((tmp_path / "runs").iterdir())
    assert int(load_checkpoint(run_dir / CHECKPOINT)["step"]) == 10
    assert read_status(run_dir)["state"] == "failed"


def test_corrupt_checkpoint_is_reported(tmp_path):
    result = train(spec(), tmp_path / "runs", device="cpu")
    checkpoint = result.run_dir / CHECKPOINT
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    with pytest.raises(DisbenchError, match="corrupt or unreadable.*--overwrite"):
        load_run(result.run_dir)


def test_checkpoint_loads_without_unpickling(tmp_path):
    result = train(spec(), tmp_path / "runs", device="cpu")
    state = torch.load(result.run_dir / CHECKPOINT, weights_only=True)
    assert state["step"] == STEPS and "optimizer" in state
