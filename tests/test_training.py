"""The shared loop: checkpoints, resumption after a signal or a crash, NaN handling."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

from disbench.errors import DisbenchError
from disbench.training.runs import load_run, resolve_run_spec, train_run
from disbench.store import read_run_config, read_status
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


def interrupt_at(monkeypatch, step_to_fail: int, error: BaseException | None, owner=None, name="training_step"):
    """Make ``owner.name(self, step, ...)`` (the VAE's training step) raise (or signal) once, at ``step_to_fail``."""
    from disbench.methods.vae import VAEMethod

    owner = owner or VAEMethod
    original = getattr(owner, name)
    fired = {"done": False}

    def flaky(self, step, *args):
        if step == step_to_fail and not fired["done"]:
            fired["done"] = True
            if error is None:
                os.kill(os.getpid(), signal.SIGINT)
            else:
                raise error
        return original(self, step, *args)

    monkeypatch.setattr(owner, name, flaky)


def test_identical_rerun_is_skipped(tmp_path):
    first = train_run(spec(), tmp_path / "runs", device="cpu")
    assert first.status == "trained"
    again = train_run(spec(), tmp_path / "runs", device="cpu")
    assert again.status == "skipped" and again.run_dir == first.run_dir
    fresh = train_run(spec(), tmp_path / "runs", device="cpu", overwrite=True)
    assert fresh.status == "trained"


@pytest.mark.parametrize("how", ["signal", "crash"])
def test_resumed_run_matches_uninterrupted_run(tmp_path, monkeypatch, how):
    reference = train_run(spec(), tmp_path / "a", device="cpu")
    codes_ref, params_ref = trained_state(reference.run_dir)

    if how == "signal":
        interrupt_at(monkeypatch, 25, None)
        with pytest.raises(TrainingInterrupted, match="checkpoint saved at step 26/40"):
            train_run(spec(), tmp_path / "b", device="cpu")
        resumed_from = 26
    else:
        interrupt_at(monkeypatch, 25, RuntimeError("killed"))
        with pytest.raises(RuntimeError):
            train_run(spec(), tmp_path / "b", device="cpu")
        resumed_from = 20  # the last periodic checkpoint
    run_dir = tmp_path / "b" / reference.run_dir.name
    assert int(load_checkpoint(run_dir / CHECKPOINT)["step"]) == resumed_from
    assert read_status(run_dir)["state"] != "finished"

    resumed = train_run(spec(), tmp_path / "b", device="cpu")
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
        train_run(spec(), tmp_path / "runs", device="cpu")
    run_dir = next((tmp_path / "runs").iterdir())
    assert int(load_checkpoint(run_dir / CHECKPOINT)["step"]) == 10
    assert read_status(run_dir)["state"] == "failed"


def test_corrupt_checkpoint_is_reported(tmp_path):
    result = train_run(spec(), tmp_path / "runs", device="cpu")
    checkpoint = result.run_dir / CHECKPOINT
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    with pytest.raises(DisbenchError, match="corrupt or unreadable.*--overwrite"):
        load_run(result.run_dir)


def test_checkpoint_loads_without_unpickling(tmp_path):
    result = train_run(spec(), tmp_path / "runs", device="cpu")
    state = torch.load(result.run_dir / CHECKPOINT, weights_only=True)
    assert state["step"] == STEPS and "optimizer" in state


def test_losses_reach_the_host_every_few_steps_not_every_step(tmp_path, monkeypatch):
    """Reading a loss on the host waits for the GPU: the loop reads SYNC_EVERY steps at once."""
    from disbench import training

    import sys

    reads = {"count": 0}
    for name in ("item", "__float__", "tolist"):
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, **kwargs):
            # disbench's reads only (Adam reads its step counter, a CPU tensor even on a GPU)
            if "/disbench/" in sys._getframe(1).f_code.co_filename:
                reads["count"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    assert training.SYNC_EVERY == 25 < STEPS
    result = train_run(spec(checkpoint_every=str(STEPS)), tmp_path / "runs", device="cpu", overwrite=True)
    assert read_status(result.run_dir)["state"] == "finished"
    assert reads["count"] == 2  # after step 25 and at the checkpoint of step 40, not 40 times
    logged = [json.loads(line) for line in (result.run_dir / LOG).read_text().splitlines()]
    assert [entry["step"] for entry in logged] == list(range(STEPS))
    assert all(np.isfinite(entry["loss"]) for entry in logged)


def test_cpu_threads_follow_the_step_cost(tmp_path, monkeypatch):
    """A tiny MLP runs on one thread, dlib's conv VAE on every core; the choice is saved for resumption."""
    from disbench import training

    assert training.cpu_threads_for(10_000_000, 8) == 1
    assert training.cpu_threads_for(5_000_000_000, 8) == 8
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        mlp = train_run(spec(), tmp_path / "runs", device="cpu")
        conv_spec = resolve_run_spec("beta-vae", "dsprites", seed=0, steps=2, overrides={"dataset.source": "render"})
        conv = train_run(conv_spec, tmp_path / "runs", device="cpu")
    finally:
        torch.set_num_threads(previous)
    assert load_checkpoint(mlp.run_dir / CHECKPOINT)["cpu_threads"] == 1
    assert load_checkpoint(conv.run_dir / CHECKPOINT)["cpu_threads"] == 2
    assert read_run_config(conv.run_dir)["cpu_threads"] == 2  # recorded with the run's provenance
    assert torch.get_num_threads() == previous


def test_a_run_does_not_depend_on_the_threads_the_process_started_with(tmp_path):
    """OMP_NUM_THREADS (torch's thread count at start) must not change a run: its first step, counted
    to choose the threads, runs on the chosen threads like every other step; the choice is recorded."""
    run_spec = resolve_run_spec("beta-vae", "synthetic", seed=0, steps=4)  # the preset's MLP: one thread
    previous = torch.get_num_threads()
    trained = {}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            trained[threads] = train_run(run_spec, tmp_path / f"threads{threads}", device="cpu").run_dir
    finally:
        torch.set_num_threads(previous)
    _, one = trained_state(trained[1])
    _, two = trained_state(trained[2])
    for name in one:
        assert torch.equal(one[name], two[name]), name
    assert [read_run_config(trained[t])["cpu_threads"] for t in (1, 2)] == [1, 1]


def test_resumption_keeps_the_thread_choice_bit_for_bit(tmp_path, monkeypatch):
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        reference = train_run(spec(), tmp_path / "a", device="cpu")
        interrupt_at(monkeypatch, 25, None)
        with pytest.raises(TrainingInterrupted):
            train_run(spec(), tmp_path / "b", device="cpu")
        torch.set_num_threads(1)  # a resumption on fewer cores still uses the run's own choice
        resumed = train_run(spec(), tmp_path / "b", device="cpu")
    finally:
        torch.set_num_threads(previous)
    _, params_ref = trained_state(reference.run_dir)
    _, params = trained_state(resumed.run_dir)
    for name in params_ref:
        assert torch.equal(params[name], params_ref[name]), name
