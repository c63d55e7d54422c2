"""The self-supervised methods: one real step on fake images, logging, checkpointed multipliers, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from disbench.config import build_config
from disbench.datasets.synthetic import SyntheticConfig, SyntheticDataset as _Synthetic
from disbench.errors import UsageError
from disbench.methods import METHODS
from disbench.training import load_checkpoint, run_training_loop
from ssl_fakes import BlobImages, NoViews

SSL_METHODS = ["multispace", "simclr", "vicreg"]


def SyntheticDataset(config: SyntheticConfig | None = None) -> _Synthetic:
    """The M = 2 synthetic data (``mode=groups``) unless a test asks for another."""
    return _Synthetic(config or SyntheticConfig(mode="groups"))
TINY = {"batch_size": 4, "embedding_dim": 8, "projector_hidden": (16,)}


def make(name: str, dataset, **hyper):
    cls = METHODS.get(name)
    return cls(build_config(cls.Config, {**TINY, **hyper}, f"method {name!r}"), dataset, seed=0)


@pytest.mark.parametrize("name", SSL_METHODS)
def test_one_training_step_on_fake_images_with_resnet18(name):
    dataset = BlobImages()
    method = make(name, dataset, encoder="resnet18")
    assert method.model.backbone.conv1.stride == (1, 1)  # small-image stem, no max-pool
    assert isinstance(method.model.backbone.maxpool, torch.nn.Identity)
    optimizer = method.configure_optimizer()
    before = [p.detach().clone() for p in method.model.projector.parameters()]
    losses = method.training_step(0, np.random.default_rng(0))
    assert losses["loss"].shape == () and torch.isfinite(losses["loss"])
    losses["loss"].backward()
    method.before_optimizer_step(0, {}, 1.0)
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, method.model.projector.parameters()))

    images, _ = dataset.sample(5, np.random.default_rng(1))
    spaces = method.encode(images).spaces
    if name == "multispace":
        assert {"lambda/content", "lambda/style:colour", "violation/style:position", "entropy"} <= set(losses)
        assert {k: v.shape for k, v in spaces.items()} == {
            "content": (5, 4), "style:colour": (5, 2), "style:position": (5, 2)
        }
    else:
        assert list(spaces) == ["latent"] and spaces["latent"].shape == (5, 8)


@pytest.mark.parametrize("name", SSL_METHODS)
def test_conv_and_backbone_encoders(name):
    method = make(name, BlobImages(), encoder="conv", representation_dim=12)
    loss = method.training_step(0, np.random.default_rng(0))["loss"]
    loss.backward()
    if name != "multispace":
        backbone = make(name, BlobImages(), encoder="conv", representation_dim=12, encode_layer="backbone")
        images, _ = BlobImages().sample(3, np.random.default_rng(0))
        assert backbone.encode(images).spaces["latent"].shape == (3, 12)


def test_projector_has_batchnorm_hidden_layers_and_a_bias_free_last_layer():
    method = make("simclr", SyntheticDataset(), projector_hidden=(16, 16))
    layers = list(method.model.projector)
    kinds = [type(layer).__name__ for layer in layers]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert layers[-1].bias is None


def test_multispace_logs_lambdas_every_step_and_checkpoints_them(tmp_path):
    method = make(
        "multispace", SyntheticDataset(), batch_size=32, base_lr_lambda=1.0, tolerance=0.0, checkpoint_every=2
    )
    run_training_loop(method, 5, tmp_path)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == list(range(5))
    for entry in log:
        assert {"lambda/content", "lambda/style:group1", "lambda/style:group2"} <= set(entry)
        assert entry["violation/content"] >= 0
    # with zero tolerance every constraint is violated, so every multiplier rose above its start of 1
    assert all(log[-1][f"lambda/{s}"] > log[0][f"lambda/{s}"] > 0.99 for s in method.space_names)
    saved = load_checkpoint(tmp_path / "checkpoint.pt")["method"]["model"]["lambdas"]
    torch.testing.assert_close(saved, method.model.lambdas)
    resumed = make("multispace", SyntheticDataset(), batch_size=32)
    resumed.load_state_dict(load_checkpoint(tmp_path / "checkpoint.pt")["method"])
    torch.testing.assert_close(resumed.model.lambdas, method.model.lambdas)


def test_fixed_lambdas_do_not_move():
    method = make("multispace", SyntheticDataset(), adaptive_lambdas=False, initial_lambda=2.0)
    method.training_step(0, np.random.default_rng(0))
    method.before_optimizer_step(0, {}, 1.0)
    torch.testing.assert_close(method.model.lambdas, torch.full((3,), 2.0))


@pytest.mark.parametrize("estimator", ["infonce", "vicreg"])
@pytest.mark.parametrize("joint", [True, False])
def test_multispace_estimators_and_ablations_give_finite_losses(estimator, joint):
    method = make("multispace", SyntheticDataset(), entropy=estimator, joint_entropy=joint, content_entropy=True)
    losses = method.training_step(0, np.random.default_rng(0))
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()


@pytest.mark.parametrize("slice_kind, norm", [("joint", 1 / np.sqrt(3)), ("unit", 1.0)])
def test_content_entropy_sees_the_content_slice_at_its_chosen_norm(slice_kind, norm):
    """``joint``: the reference code's add_cont_neg, the slice keeps its joint-vector norm 1/sqrt(M+1);
    ``unit``: the slice renormalised."""
    from disbench.methods import ssl_losses as L

    embeddings = torch.randn(4, 16, 12, generator=torch.Generator().manual_seed(0))
    plain, extra = (
        make("multispace", SyntheticDataset(), embedding_dim=12, content_entropy=flag, content_entropy_slice=slice_kind)
        for flag in (False, True)
    )
    added = extra.loss(embeddings)["entropy"] - plain.loss(embeddings)["entropy"]
    content = L.split_spaces(L.normalize_spaces(embeddings, extra.sizes), extra.sizes)[0] * norm
    torch.testing.assert_close(added, L.infonce_entropy(content, extra.config.temperature))


def test_same_seed_same_numbers(tmp_path):
    logs = []
    for run in ("a", "b"):
        method = make("multispace", SyntheticDataset(), batch_size=16)
        (tmp_path / run).mkdir()
        logs.append(run_training_loop(method, 3, tmp_path / run).final_logs)
    assert logs[0] == logs[1]


# --- bad input: one clear line each ------------------------------------------------------
def usage_error(name: str, dataset=None, **hyper) -> str:
    with pytest.raises(UsageError) as info:
        make(name, dataset or SyntheticDataset(), **hyper)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_space_fractions_must_sum_to_one():
    assert "sum to 1" in usage_error("multispace", space_fractions=(0.5, 0.3, 0.3))


def test_space_fractions_that_leave_a_space_empty():
    message = usage_error("multispace", space_fractions=(0.9, 0.05, 0.05), embedding_dim=8)
    assert "empty space" in message and "embedding_dim" in message


def test_space_fractions_count_must_match_the_groups():
    assert "needs 3" in usage_error("multispace", space_fractions=(0.5, 0.5))
    assert "positive" in usage_error("multispace", space_fractions=(1.0, 0.0, 0.0))


@pytest.mark.parametrize("name", SSL_METHODS)
def test_dataset_without_structured_views(name):
    assert "no transformation groups" in usage_error(name, NoViews())


@pytest.mark.parametrize("name", ["multispace", "simclr"])
@pytest.mark.parametrize("temperature", [0.0, -1.0, 50.0])
def test_temperature_out_of_range(name, temperature):
    assert "temperature must be in (0, 10]" in usage_error(name, temperature=temperature)


@pytest.mark.parametrize("tolerance", [-0.1, 2.0])
def test_tolerance_out_of_range(tolerance):
    assert "tolerance must be in [0, 2)" in usage_error("multispace", tolerance=tolerance)


@pytest.mark.parametrize("name", SSL_METHODS)
def test_batch_size_below_two(name):
    assert "batch_size must be at least 2" in usage_error(name, batch_size=1)


def test_mlp_encoder_on_images_is_refused():
    assert "needs vector observations" in usage_error("simclr", BlobImages(), encoder="mlp")


def test_more_style_groups_give_more_spaces():
    method = make("multispace", SyntheticDataset(SyntheticConfig(mode="groups", num_styles=3)), embedding_dim=12)
    assert method.space_names == ["content", "style:group1", "style:group2", "style:group3"]
    assert method.sizes == [6, 2, 2, 2]  # content 0.5, the other half shared evenly


def test_lars_scales_each_weight_step_by_its_trust_ratio():
    from disbench.methods.lars import LARS

    weight = torch.nn.Parameter(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)))
    bias = torch.nn.Parameter(torch.ones(4))
    optimizer = LARS([weight, bias], lr=0.5, weight_decay=0.0, trust_coefficient=0.01)
    before_weight, before_bias = weight.detach().clone(), bias.detach().clone()
    (weight.sum() * 100 + bias.sum()).backward()
    optimizer.step()
    # a weight matrix moves by lr * eta * ||w|| whatever the gradient's size; a bias by lr * its gradient
    assert (weight.detach() - before_weight).norm().item() == pytest.approx(0.5 * 0.01 * before_weight.norm().item(), rel=1e-5)
    torch.testing.assert_close(bias.detach(), before_bias - 0.5)


def test_ssl_optimisers_and_schedule():
    method = make("simclr", SyntheticDataset(), optimizer="lars", warmup_steps=10)
    assert type(method.configure_optimizer()).__name__ == "LARS"
    assert method.lr_scale(0, 100) == pytest.approx(0.1)  # linear warm-up
    assert method.lr_scale(9, 100) == pytest.approx(1.0)
    assert method.lr_scale(99, 100) < 0.01  # cosine decay to zero
    constant = make("simclr", SyntheticDataset(), lr_schedule="constant")
    assert constant.lr_scale(50, 100) == 1.0


def test_auto_encoder_picks_resnet50_with_its_imagenet_stem_for_large_images():
    from disbench.methods.ssl import SSLConfig, build_backbone

    backbone, width = build_backbone(SSLConfig(), (3, 128, 128))
    assert width == 2048 and backbone.conv1.stride == (2, 2)
    assert not isinstance(backbone.maxpool, torch.nn.Identity)
    _, small_width = build_backbone(SSLConfig(), (3, 64, 64))
    assert small_width == 512


def test_simclr_trains_the_reference_nt_xent_by_default_and_textbook_on_request():
    from disbench.methods import ssl_losses as L

    embeddings = torch.nn.functional.normalize(torch.randn(2, 6, 8, generator=torch.Generator().manual_seed(0)), dim=-1)
    default = make("simclr", SyntheticDataset())
    assert default.config.denominator == "negatives"
    torch.testing.assert_close(default.loss(embeddings)["loss"], L.nt_xent(embeddings, default.config.temperature))
    textbook = make("simclr", SyntheticDataset(), denominator="textbook")
    expected = L.nt_xent(embeddings, textbook.config.temperature, denominator="textbook")
    torch.testing.assert_close(textbook.loss(embeddings)["loss"], expected)
    assert expected.item() > default.loss(embeddings)["loss"].item()  # the positive adds to the denominator
