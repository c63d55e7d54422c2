"""Collapse of the self-supervised losses: the collapsed values, the stretches, and what a run records."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from disbench.config import build_config
from disbench.methods import METHODS
from disbench.training.collapse import CollapseProbe, CollapseWatch, collapse_stretches, min_stretch
from disbench.methods.nets import ConvEncoder, SmallConvEncoder
from disbench.methods.schedules import cosine_lr_scale
from disbench.training import run_training_loop
from ssl_fakes import BlobImages

TINY = {"batch_size": 8, "embedding_dim": 8, "projector_hidden": (16,), "encoder": "small-conv", "representation_dim": 8}


def make(name: str, **hyper):
    cls = METHODS.get(name)
    return cls(build_config(cls.Config, {**TINY, **hyper}, f"method {name!r}"), BlobImages(), seed=0)


def test_collapsed_nt_xent_is_log_2b_minus_2_and_textbook_log_2b_minus_1():
    for batch in (8, 64):
        probe = make("simclr", batch_size=batch).collapse_probe()
        assert probe.key == "loss" and probe.value == pytest.approx(math.log(2 * batch - 2), rel=1e-6)
    textbook = make("simclr", denominator="textbook").collapse_probe()
    assert textbook.value == pytest.approx(math.log(2 * 8 - 1), rel=1e-6)


def test_collapsed_multispace_entropy_counts_every_view_of_every_other_example():
    # M = 2 style groups: 4 views of 8 examples, 3 x 4 = 28 candidates per anchor after its own image's views;
    # the joint term sees similarity 1 / tau, the content slice (norm 1/sqrt(3)) similarity 1/3 / tau
    tau, candidates = 0.2, 7 * 4
    probe = make("multispace", temperature=tau).collapse_probe()
    assert probe.key == "entropy"
    assert probe.value == pytest.approx(1 / tau + math.log(candidates) + 1 / (3 * tau) + math.log(candidates), rel=1e-5)


def test_collapsed_vicreg_variance_is_one_minus_the_epsilon_root():
    probe = make("vicreg").collapse_probe()
    assert probe.key == "variance" and probe.value == pytest.approx(1 - math.sqrt(1e-4), rel=1e-5)


def test_stretches_are_judged_on_a_running_mean_and_need_the_minimum_length():
    probe = CollapseProbe("loss", 4.0)  # collapsed: a 50-step mean within 0.08 of 4.0
    total = 1000  # stretches of at least 100 steps
    assert min_stretch(total) == 100 and min_stretch(100) == 50
    values = [4.0] * 300 + [2.5] * 300 + [4.0] * 400
    # leaving: two 2.5s pull the mean to 3.94, the third to 3.91; entering: 48 of the last 50 at 4.0
    assert collapse_stretches(range(total), values, probe, total) == [
        {"from": 0, "to": 302, "steps": 302}, {"from": 647, "to": 1000, "steps": 353}
    ]
    jitter = [4.0 + (0.12 if step % 2 else -0.12) for step in range(total)]  # 3% off at every step
    # the first step alone is 3% off; from the second on the mean sits at 4.0
    assert collapse_stretches(range(total), jitter, probe, total) == [{"from": 1, "to": 1000, "steps": 999}]
    assert collapse_stretches(range(total), [3.0] * total, probe, total) == []
    assert collapse_stretches(range(total), [4.0] * 97 + [1.0] * 903, probe, total) == []  # 98 steps: too short


def test_watch_announces_a_stretch_once_and_its_end():
    watch = CollapseWatch(CollapseProbe("loss", 4.0), total_steps=500)  # 50 steps make a stretch
    messages = [watch.update(step, {"loss": 4.0}) for step in range(60)]
    said = [m for m in messages if m]
    assert len(said) == 1 and "collapsed since step 0" in said[0] and watch.status == "since step 0"
    assert watch.update(60, {"loss": 1.0}) is None  # one step does not move a 50-step mean out
    assert "left the collapsed plateau at step 61" in watch.update(61, {"loss": 1.0})
    assert watch.status is None and watch.update(62, {"other": 4.0}) is None


def test_a_collapsed_run_is_recorded_in_its_status_and_said_on_the_progress(tmp_path):
    messages = []

    class Recorder:
        def task(self, description, total, completed=0):
            from disbench.progress import NullProgress

            return NullProgress().task(description, total, completed)

        def message(self, text):
            messages.append(text)

    # a projector whose last layer is zero maps every image to the same point, and a vanishing
    # learning rate keeps it there: NT-Xent sits at log(2B - 2) from the first step
    method = make("simclr", lr=1e-12, checkpoint_every=10)
    torch.nn.init.zeros_(method.model.projector[-1].weight)
    outcome = run_training_loop(method, 60, tmp_path, progress=Recorder())
    assert outcome.collapse == [{"from": 0, "to": 60, "steps": 60}]
    assert any("collapsed since step 0" in m for m in messages)

    (tmp_path / "learns").mkdir()
    trained = make("simclr", lr=3e-3, temperature=0.2, checkpoint_every=10)
    assert run_training_loop(trained, 60, tmp_path / "learns").collapse == []


def test_small_conv_encoder_starts_alive_where_dlibs_net_is_mostly_dead():
    torch.manual_seed(0)
    images = torch.as_tensor(BlobImages(side=64).sample(32, np.random.default_rng(0))[0])

    def dead_after_first_relu(net):
        hidden = images
        for layer in net.features:
            hidden = layer(hidden)
            if isinstance(layer, torch.nn.ReLU):
                return (hidden == 0).float().mean().item()

    small, dlib = SmallConvEncoder(3, 64, 10), ConvEncoder(3, 64, 10)
    assert dead_after_first_relu(dlib) > 0.9 and dead_after_first_relu(small) < 0.75
    assert small(images).shape == (32, 10)


def test_ssl_resnets_start_each_residual_block_as_the_identity():
    method = make("simclr", encoder="resnet18")
    last_norms = [block.bn2.weight for layer in ("layer1", "layer4") for block in getattr(method.model.backbone, layer)]
    assert all(torch.count_nonzero(weight) == 0 for weight in last_norms)


def test_cosine_schedule_ends_at_the_reference_ratio():
    method = make("simclr", warmup_steps=10)
    assert method.config.end_lr_ratio == 1e-3
    assert method.lr_scale(0, 100) == pytest.approx(0.1)
    assert method.lr_scale(10, 100) == pytest.approx(1.0)
    assert method.lr_scale(100, 100) == pytest.approx(1e-3)
    assert cosine_lr_scale(100, 100, 10) == 0.0  # the shared helper's own default decays to zero
    assert make("simclr", end_lr_ratio=0.0).lr_scale(100, 100) == 0.0


def test_status_json_of_a_finished_ssl_run_holds_its_collapse_record(tmp_path):
    from disbench.training.runs import resolve_run_spec, train_run

    spec = resolve_run_spec(
        "simclr", "synthetic", seed=0, steps=20,
        overrides={"batch_size": 8, "embedding_dim": 4, "projector_hidden": [8], "checkpoint_every": 10},
    )
    result = train_run(spec, runs_dir=tmp_path, device="cpu")
    status = json.loads((result.run_dir / "status.json").read_text())
    assert status["state"] == "finished" and "collapse" in status and isinstance(status["collapse"], list)
