"""The self-supervised presets resolve to the reference's values; the multipliers' schedule; asymmetric views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disbench.config import build_config
from disbench.datasets.imagefolder import ImageFolder, ImageFolderConfig
from disbench.methods import METHODS
from disbench.methods import ssl_losses as L
from disbench.presets import load_preset
from disbench.training.runs import resolve_run_spec
from image_folders import make_image_folder
from ssl_fakes import BlobImages


def multispace_sections() -> list[str]:
    return ["(all datasets)", *(load_preset("methods", "multispace").get("datasets") or {})]


@pytest.mark.parametrize("dataset", multispace_sections())
def test_every_multispace_preset_trains_the_papers_objective(dataset):
    preset = load_preset("methods", "multispace")
    hyper = dict(preset["hyperparameters"])
    if dataset != "(all datasets)":
        hyper.update(preset["datasets"][dataset].get("hyperparameters") or {})
    config = build_config(METHODS.get("multispace").Config, hyper, "multispace preset")
    # both entropy terms, the content term on the content slice of the joint vector (add_cont_neg)
    assert config.joint_entropy and config.content_entropy and config.content_entropy_slice == "joint"
    assert config.adaptive_lambdas and config.base_lr_lambda > 0


def test_the_multispace_defaults_are_the_papers_objective():
    config = METHODS.get("multispace").Config()
    assert config.joint_entropy and config.content_entropy and config.content_entropy_slice == "joint"
    assert config.tolerance == 1e-3 and config.vicreg_tolerance == 1e-5


def test_color_dsprites_presets_resolve_to_the_reference_configs():
    # configs/colordsprites/{dataset,simclr,vicreg}.yaml: batch 128, 50 epochs of the 90% split
    # (5,184 steps each), 5 warm-up epochs, LARS 0.3 x 128 / 256, weight decay 1e-6
    spec = resolve_run_spec("multispace", "color-dsprites")
    hyper = spec.method_config
    assert spec.steps == 50 * 5184 and hyper["warmup_steps"] == hyper["lambda_warmup_steps"] == 5 * 5184
    assert (hyper["batch_size"], hyper["optimizer"], hyper["lr"], hyper["weight_decay"]) == (128, "lars", 0.15, 1e-6)
    assert hyper["temperature"] == 0.15 and hyper["tolerance"] == 1e-3 and hyper["vicreg_tolerance"] == 1e-5
    assert list(hyper["space_fractions"]) == [0.5, 0.25, 0.25] and hyper["embedding_dim"] == 256
    assert hyper["base_lr_lambda"] == pytest.approx(0.3 / 10)
    simclr = resolve_run_spec("simclr", "color-dsprites")
    assert simclr.steps == 259200 and simclr.method_config["denominator"] == "negatives"
    assert simclr.method_config["temperature"] == 0.15
    vicreg = resolve_run_spec("vicreg", "color-dsprites")
    assert list(vicreg.method_config["projector_hidden"]) == [2048, 2048] and vicreg.method_config["embedding_dim"] == 512


def test_imagenet_presets_resolve_to_the_reference_configs():
    # configs/imagenet/{dataset,simclrmultihead,vicregmultihead}.yaml: ResNet-50, batch 512, 100 epochs
    # of 2,502 steps, 10 warm-up epochs, LARS base lr 0.5, projector 8192-8192-2048, VICReg tolerance 1e-3
    spec = resolve_run_spec("multispace", "imagenet")
    hyper = spec.method_config
    assert spec.steps == 100 * 2502 and hyper["warmup_steps"] == hyper["lambda_warmup_steps"] == 10 * 2502
    assert hyper["encoder"] == "resnet50" and hyper["batch_size"] == 512
    assert hyper["optimizer"] == "lars" and hyper["lr"] == pytest.approx(0.5 * 512 / 256)
    assert list(hyper["projector_hidden"]) == [8192, 8192] and hyper["embedding_dim"] == 2048
    assert hyper["vicreg_tolerance"] == 1e-3 and hyper["tolerance"] == 1e-3 and hyper["temperature"] == 0.15
    assert hyper["content_entropy"] and hyper["joint_entropy"]
    assert spec.dataset_config["appearance"] == "asymmetric"
    for method, lr in (("simclr", 1.0), ("vicreg", 0.6)):
        other = resolve_run_spec(method, "imagenet")
        assert other.steps == 250200 and other.method_config["lr"] == pytest.approx(lr)


def _multispace(**hyper):
    cls = METHODS.get("multispace")
    tiny = {"batch_size": 8, "embedding_dim": 12, "projector_hidden": (16,), "encoder": "conv", "representation_dim": 8}
    return cls(build_config(cls.Config, {**tiny, **hyper}, "multispace"), BlobImages(), seed=0)


def test_multipliers_step_on_their_own_cosine_schedule_after_their_warm_up():
    method = _multispace(base_lr_lambda=0.5, lambda_warmup_steps=10, tolerance=0.0, warmup_steps=3)
    total = 30
    rng = np.random.default_rng(0)
    for step in (5, 10, 20, 29):
        method.lr_scale(step, total)  # the shared loop calls this first
        method.training_step(step, rng)
        before = method.model.lambdas.clone()
        violations = method._violations.clone()
        logs: dict[str, float] = {}
        method.before_optimizer_step(step, logs, lr_scale=123.0)  # the learning-rate scale plays no part
        eta = L.lambda_step_size(0.5, 8, step, total, warmup_steps=10, end_ratio=1e-3)
        if step < 10:
            assert eta == 0.0 and torch.equal(method.model.lambdas, before) and not logs
        else:
            assert logs["lambda_step_size"] == pytest.approx(eta)
            torch.testing.assert_close(method.model.lambdas, torch.clamp(before + eta * violations, min=0))
    assert L.lambda_step_size(0.5, 8, 10, total, 10, 1e-3) > L.lambda_step_size(0.5, 8, 20, total, 10, 1e-3) > L.lambda_step_size(0.5, 8, 29, total, 10, 1e-3)


@pytest.mark.parametrize("estimator, tolerance", [("infonce", 0.3), ("vicreg", 0.02)])
def test_each_estimator_uses_its_own_tolerance(estimator, tolerance):
    method = _multispace(entropy=estimator, tolerance=0.3, vicreg_tolerance=0.02, base_lr_lambda=1.0)
    method.lr_scale(0, 10)
    method.training_step(0, np.random.default_rng(0))
    before, violations = method.model.lambdas.clone(), method._violations.clone()
    method.before_optimizer_step(0, {}, 1.0)
    eta = L.lambda_step_size(1.0, 8, 0, 10, 0, 1e-3)
    torch.testing.assert_close(method.model.lambdas, torch.clamp(before + eta * (violations - tolerance), min=0))


def test_asymmetric_appearance_blurs_every_query_and_solarises_only_keys(tmp_path):
    dataset = ImageFolder(ImageFolderConfig(root=str(make_image_folder(tmp_path / "images")), size=32, workers=2,
                                            appearance="asymmetric"))
    views = dataset.sample_views(400, np.random.default_rng(0))
    query = views.parameters["query"]["appearance"]
    assert (query["blur_sigma"] > 0).all() and (query["solarize"] == 0).all()
    keys = [views.parameters[name]["appearance"] for name in ("content", "spatial")]
    blurred = np.mean([np.mean(k["blur_sigma"] > 0) for k in keys])
    solarised = np.mean([np.mean(k["solarize"]) for k in keys])
    assert blurred == pytest.approx(0.1, abs=0.04) and solarised == pytest.approx(0.2, abs=0.05)
    # the key that shares the appearance group copies the query's draw: blurred, not solarised
    for name, values in views.parameters["appearance"]["appearance"].items():
        np.testing.assert_array_equal(values, query[name])
    symmetric = ImageFolder(ImageFolderConfig(root=str(tmp_path / "images"), size=32, workers=2))
    drawn = symmetric.sample_views(400, np.random.default_rng(0)).parameters["query"]["appearance"]
    assert np.mean(drawn["blur_sigma"] > 0) == pytest.approx(0.5, abs=0.08)
