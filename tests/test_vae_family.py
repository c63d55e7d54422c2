"""Loss pieces of the VAE family, tested without training."""

from __future__ import annotations

import numpy as np
import torch

import pytest
from torch import nn

from disbench.methods.nets import ConvEncoder, DeconvDecoder, VAEModel, tf_same_conv, tf_same_padding
from disbench.methods.vae import (
    covariance,
    dip_regulariser,
    discriminator_cross_entropy,
    gaussian_kl,
    permute_dims,
    total_correlation,
)
from disbench.training.runs import build_dataset, build_method, resolve_run_spec


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_vae_networks_have_dlibs_parameter_counts():
    # dlib conv_encoder, 1 channel, 10 latents: convs 544 + 16,416 + 8,256 + 16,448 (k4, k4, k2, k2),
    # dense 262,400, means and log-variances 2 x 2,570
    # deconv_decoder: dense 2,816 + 263,168, deconvs 65,600 + 32,800 + 16,416 + 513
    model = VAEModel((1, 64, 64), latent_dim=10, hidden=(256, 256))
    assert parameter_count(model.encoder) == 309_204
    assert parameter_count(model.decoder) == 381_313


def test_conv_encoder_halves_64_pixels_down_to_4_with_kernels_4_4_2_2():
    encoder = ConvEncoder(1, 64, 10, heads=2)
    convs = [m for m in encoder.features if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(4, 4), (4, 4), (2, 2), (2, 2)]
    assert [c.stride for c in convs] == [(2, 2)] * 4
    x = torch.zeros(2, 1, 64, 64)
    sides = []
    for module in encoder.features:
        x = module(x)
        if isinstance(module, nn.Conv2d):
            sides.append(tuple(x.shape[2:]))
    assert sides == [(32, 32), (16, 16), (8, 8), (4, 4)]
    assert encoder(torch.zeros(2, 1, 64, 64)).shape == (2, 20)


@pytest.mark.parametrize(
    "size, kernel, expected",
    # TF: out = ceil(size / stride), total = max((out - 1) * stride + kernel - size, 0), extra pixel after
    [(64, 4, (1, 1)), (16, 2, (0, 0)), (8, 2, (0, 0)), (5, 2, (0, 1)), (7, 4, (1, 2)), (6, 3, (0, 1))],
)
def test_same_padding_follows_tensorflow(size, kernel, expected):
    assert tf_same_padding(size, kernel, 2) == expected


def test_asymmetric_same_padding_pads_after():
    torch.manual_seed(0)
    modules, out_size = tf_same_conv(1, 1, 3, 2, (6, 6))
    conv = modules[-1]
    x = torch.randn(1, 1, 6, 6)
    expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 1, 0, 1)), conv.weight, conv.bias, stride=2)
    got = nn.Sequential(*modules)(x)
    assert out_size == (3, 3) and torch.allclose(got, expected)
    # odd images keep TF's output sizes (ceil halving)
    assert ConvEncoder(3, 63, 4).features(torch.zeros(1, 3, 63, 63)).shape == (1, 256)


def test_dlib_networks_start_from_tensorflows_initialisation():
    for module in (ConvEncoder(1, 64, 10, heads=2), DeconvDecoder(10, 1, 64)):
        for layer in module.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                assert torch.all(layer.bias == 0)
                receptive = layer.weight[0, 0].numel()
                fan_in, fan_out = layer.weight.shape[1] * receptive, layer.weight.shape[0] * receptive
                bound = (6.0 / (fan_in + fan_out)) ** 0.5  # Glorot uniform
                assert layer.weight.abs().max() <= bound
                assert layer.weight.abs().max() > 0.9 * bound


def test_covariance_divides_by_the_batch_size_as_dlib():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(16, 3))
    # dlib's compute_covariance_z_mean: E[mu mu^T] - E[mu] E[mu]^T
    expected = (codes[:, :, None] * codes[:, None, :]).mean(0) - np.outer(codes.mean(0), codes.mean(0))
    assert np.allclose(covariance(torch.as_tensor(codes)).numpy(), expected)


@pytest.mark.parametrize("name, factor, posterior_variance", [("dip-vae-i", 10.0, False), ("dip-vae-ii", 1.0, True)])
def test_dip_vae_regulariser_equals_dlibs(name, factor, posterior_variance):
    spec = resolve_run_spec(name, "dsprites", overrides={"lambda_od": "2"})
    assert spec.method_config["lambda_d_factor"] == factor
    method = build_method(resolve_run_spec(name, "synthetic", overrides={"lambda_od": "2"}), build_dataset("synthetic"))
    rng = np.random.default_rng(1)
    mean, logvar = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    cov = np.cov(mean.T, ddof=0) + (np.diag(np.exp(logvar).mean(0)) if posterior_variance else 0)
    off = cov - np.diag(np.diag(cov))
    expected = 2.0 * (off**2).sum() + factor * 2.0 * ((np.diag(cov) - 1) ** 2).sum()
    kl = torch.tensor(0.0)
    got = method.regulariser(0, torch.as_tensor(mean), torch.as_tensor(logvar), None, kl)
    assert np.isclose(float(got), expected)


def test_total_correlation_is_dlibs_formula():
    rng = np.random.default_rng(0)
    z, mean, logvar = (rng.normal(size=(6, 3)) for _ in range(3))
    # dlib's total_correlation, written with numpy: log-normalisers dropped
    log_density = -0.5 * ((z[:, None] - mean[None]) ** 2 * np.exp(-logvar[None]) + logvar[None] + np.log(2 * np.pi))
    logsumexp = lambda a, axis: np.log(np.exp(a).sum(axis))  # noqa: E731
    expected = (logsumexp(log_density.sum(2), 1) - logsumexp(log_density, 1).sum(1)).mean()
    got = total_correlation(*(torch.as_tensor(a) for a in (z, mean, logvar)))
    assert np.isclose(float(got), expected)


def test_discriminator_loss_clips_probabilities_as_dlib():
    confident_wrong = torch.tensor([[-50.0, 50.0]])  # p(real) = e^-100 for a real code
    loss = discriminator_cross_entropy(confident_wrong, confident_wrong.flip(1))
    assert np.isclose(float(loss), -np.log(1e-6), rtol=1e-5)


def test_vae_presets_follow_dlibs_study():
    # unsupervised_study_v1: sweeps, fixed values, Adam settings, and FactorVAE's 150,000 iterations
    sweeps = {
        "beta-vae": ("beta", {1, 2, 4, 6, 8, 16}),
        "annealed-vae": ("c_max", {5, 10, 25, 50, 75, 100}),
        "factor-vae": ("gamma", {10, 20, 30, 40, 50, 100}),
        "dip-vae-i": ("lambda_od", {1, 2, 5, 10, 20, 50}),
        "dip-vae-ii": ("lambda_od", {1, 2, 5, 10, 20, 50}),
        "beta-tcvae": ("beta", {1, 2, 4, 6, 8, 10}),
    }
    for name, (key, grid) in sweeps.items():
        spec = resolve_run_spec(name, "dsprites")
        config = spec.method_config
        assert config[key] in grid, name
        assert (config["batch_size"], config["latent_dim"], config["lr"]) == (64, 10, 1e-4), name
        assert spec.steps == (150_000 if name == "factor-vae" else 300_000), name
    annealed = resolve_run_spec("annealed-vae", "dsprites").method_config
    assert (annealed["gamma"], annealed["iteration_threshold"]) == (1000, 100_000)
    factor = resolve_run_spec("factor-vae", "dsprites").method_config
    assert (factor["discriminator_hidden"], factor["discriminator_lr"]) == (1000, 1e-4)


def test_kl_of_the_prior_is_zero_and_positive_elsewhere():
    zeros = torch.zeros(4, 3)
    assert torch.allclose(gaussian_kl(zeros, zeros), torch.zeros(4, 3))
    assert (gaussian_kl(torch.ones(4, 3), torch.full((4, 3), -1.0)) > 0).all()


def test_total_correlation_detects_dependence():
    torch.manual_seed(0)
    independent = torch.randn(512, 2)
    shared = torch.randn(512, 1)
    dependent = torch.cat([shared, shared + 0.05 * torch.randn(512, 1)], dim=1)
    logvar = torch.full((512, 2), -4.0)  # narrow posteriors: the estimate follows the codes
    tc_independent = total_correlation(independent, independent, logvar)
    tc_dependent = total_correlation(dependent, dependent, logvar)
    assert tc_dependent > tc_independent + 1.0


def test_dip_regulariser_is_zero_at_identity():
    assert dip_regulariser(torch.eye(3), 10.0, 100.0) == 0
    assert dip_regulariser(torch.tensor([[1.0, 0.5], [0.5, 1.0]]), 1.0, 1.0) == 0.5


def test_permute_dims_keeps_marginals_and_breaks_dependence():
    torch.manual_seed(0)
    shared = torch.randn(2000, 1)
    z = torch.cat([shared, shared], dim=1)
    shuffled = permute_dims(z)
    for j in range(2):
        assert torch.equal(torch.sort(shuffled[:, j]).values, torch.sort(z[:, j]).values)
    assert abs(np.corrcoef(shuffled.T.numpy())[0, 1]) < 0.1


def test_factor_vae_discriminator_gets_no_gradient_from_the_vae_term():
    spec = resolve_run_spec("factor-vae", "synthetic", overrides={"discriminator_hidden": "16", "batch_size": "32"})
    dataset = build_dataset("synthetic")
    method = build_method(spec, dataset)
    rng = np.random.default_rng(0)
    losses = method.training_step(0, rng)
    torch.autograd.backward(losses["loss"] - losses["discriminator"])  # the VAE's part alone
    assert all(p.grad is None or torch.all(p.grad == 0) for p in method.model.discriminator.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.model.encoder.parameters())


def test_annealed_capacity_ramps_linearly_then_holds_and_factor_vae_optimisers_are_dlibs():
    method = build_method(resolve_run_spec("annealed-vae", "synthetic", overrides={"c_max": "10", "iteration_threshold": "100", "gamma": "1"}), build_dataset("synthetic"))
    zeros = torch.zeros(1, 1)
    # dlib: gamma * |KL - min(c_max, c_max * global_step / iteration_threshold)|, here with KL = 0
    assert [float(method.regulariser(step, zeros, zeros, zeros, torch.tensor(0.0))) for step in (0, 50, 100, 500)] == [0, 5, 10, 10]
    factor = build_method(resolve_run_spec("factor-vae", "synthetic", overrides={"discriminator_hidden": "8"}), build_dataset("synthetic"))
    vae_group, discriminator_group = factor.configure_optimizer().param_groups
    assert (vae_group["betas"], vae_group["eps"]) == ((0.9, 0.999), 1e-8)
    assert (discriminator_group["betas"], discriminator_group["eps"], discriminator_group["lr"]) == ((0.5, 0.9), 1e-8, 1e-4)
