"""The VAE family's losses weigh their terms exactly as the formulas say.

Each test computes one training step twice on the same batch and the same noise (same
network initialisation, same data generator, same torch seed) with one hyperparameter
changed, and checks that the loss moves by exactly the amount the formula predicts,
using the ``reconstruction`` and ``kl`` terms the step reports. A weight dropped, an
off-by-one in a coefficient or a wrong sign then changes a number the test compares.
The closed-form pieces (Gaussian KL, the minibatch-weighted TC estimate, Bernoulli and
Gaussian reconstruction) are checked against independent computations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from disbench.methods.vae import gaussian_kl, total_correlation
from disbench.training.runs import build_dataset, build_method, resolve_run_spec

BATCH = 32


def build(name: str, **overrides: str):
    spec = resolve_run_spec(name, "synthetic", seed=0, overrides={"hidden": "16", "batch_size": str(BATCH), **overrides})
    return build_method(spec, build_dataset("synthetic"))  # seeds torch with the run seed: same initial weights


def step(name: str, training_step: int = 0, **overrides: str) -> dict[str, float]:
    """Losses of one training step on the batch drawn by ``default_rng(1)``, with torch's noise seeded."""
    method = build(name, **overrides)
    torch.manual_seed(5)
    losses = method.training_step(training_step, np.random.default_rng(1))
    return {key: float(value.detach()) for key, value in losses.items()}


# --- closed forms ----------------------------------------------------------------------------------


def test_gaussian_kl_equals_the_closed_form_on_known_means_and_variances():
    mean = torch.tensor([[0.0, 1.0, -2.0], [0.5, 0.0, 3.0]])
    variance = torch.tensor([[1.0, 1.0, 0.25], [4.0, math.e, 1.0]])
    ours = gaussian_kl(mean, variance.log())
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2, per dimension
    expected = 0.5 * (mean**2 + variance - 1.0 - variance.log())
    torch.testing.assert_close(ours, expected)
    # the same from torch.distributions, a third computation
    prior = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    posterior = torch.distributions.Normal(mean, variance.sqrt())
    torch.testing.assert_close(ours, torch.distributions.kl_divergence(posterior, prior))
    assert ours[0, 1] == pytest.approx(0.5)  # unit variance, mean 1
    assert ours[1, 1] == pytest.approx(0.5 * (math.e - 2.0))  # mean 0, variance e


def dlib_total_correlation(z: np.ndarray, mean: np.ndarray, logvar: np.ndarray) -> float:
    """dlib ``methods/unsupervised/vae.py:total_correlation`` in NumPy, one loop per sample."""
    batch, _ = z.shape
    log_qz_product = np.zeros(batch)
    log_qz = np.zeros(batch)
    for i in range(batch):
        # log q(z_i | x_j) per dimension, for every j in the batch: (B, d)
        log_density = -0.5 * (np.log(2 * np.pi) + logvar + (z[i] - mean) ** 2 * np.exp(-logvar))
        log_qz_product[i] = np.sum(np.logaddexp.reduce(log_density, axis=0))
        log_qz[i] = np.logaddexp.reduce(np.sum(log_density, axis=1))
    return float(np.mean(log_qz - log_qz_product))


def test_total_correlation_equals_dlib_up_to_a_constant_log_batch_shift():
    # dlib drops the 1/B normalisers of both densities; keeping them adds (d - 1) log B, a constant
    # with no gradient. disbench has done both (main kept them, the vaefid branch drops them), so
    # either shift is accepted; it must be the same at every input of the same size.
    rng = np.random.default_rng(0)
    shifts = []
    for _ in range(3):
        mean = rng.normal(size=(24, 4))
        logvar = rng.normal(-1.0, 0.5, size=(24, 4))
        z = mean + np.exp(0.5 * logvar) * rng.normal(size=(24, 4))
        ours = float(total_correlation(*(torch.tensor(a) for a in (z, mean, logvar))))
        shifts.append(ours - dlib_total_correlation(z, mean, logvar))
    assert min(abs(shifts[0]), abs(shifts[0] - 3 * math.log(24))) < 1e-9
    assert shifts == pytest.approx([shifts[0]] * 3, abs=1e-9)


def test_bernoulli_reconstruction_is_the_summed_binary_cross_entropy():
    method = build("beta-vae", reconstruction="bernoulli")
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.integers(0, 2, size=(5, 7)), dtype=torch.float32)
    logits = torch.tensor(rng.normal(size=(5, 7)), dtype=torch.float32)
    probability = torch.sigmoid(logits)
    per_example = -(x * probability.log() + (1 - x) * (1 - probability).log()).sum(dim=1)
    assert float(method.reconstruction_loss(x, logits)) == pytest.approx(float(per_example.mean()), rel=1e-5)


def test_gaussian_reconstruction_is_the_summed_squared_error():
    method = build("beta-vae", reconstruction="gaussian")
    x = torch.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    decoded = torch.tensor([[1.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    assert float(method.reconstruction_loss(x, decoded)) == pytest.approx((1 + 0 + 4 + 1 + 4 + 0) / 2)


# --- beta-VAE and beta-TCVAE --------------------------------------------------------------------------


def test_beta_vae_loss_is_reconstruction_plus_beta_times_kl():
    one, four = step("beta-vae", beta="1"), step("beta-vae", beta="4")
    assert one["reconstruction"] == four["reconstruction"] and one["kl"] == four["kl"]  # same batch, same noise
    assert one["kl"] > 0.01  # a KL that can show its weight
    assert one["loss"] == pytest.approx(one["reconstruction"] + one["kl"], rel=1e-6)
    assert four["loss"] - one["loss"] == pytest.approx(3.0 * one["kl"], rel=1e-4)


def test_beta_tcvae_weighs_total_correlation_by_beta_minus_one():
    # at initialisation the TC estimate is small (~1e-3 on a loss of ~3), yet thousands of times
    # float32's resolution there (~3e-7): absolute tolerances of 2e-5 separate it cleanly
    one, two, four = (step("beta-tcvae", beta=b, hidden="64") for b in ("1", "2", "4"))
    assert one["kl"] == two["kl"] == four["kl"]
    total_correlation_term = two["loss"] - one["loss"]  # (2 - 1) x TC
    assert abs(total_correlation_term) > 5e-4  # the estimate is not zero on this batch
    # beta = 1 is the plain ELBO: the TC term has weight beta - 1 = 0
    assert one["loss"] == pytest.approx(one["reconstruction"] + one["kl"], abs=2e-5)
    assert four["loss"] - one["loss"] == pytest.approx(3.0 * total_correlation_term, abs=2e-5)


# --- AnnealedVAE, DIP-VAE, FactorVAE -----------------------------------------------------------------


def test_annealed_vae_pins_kl_to_a_linearly_growing_capacity():
    # step 0: capacity 0, so the regulariser is gamma * KL
    start = step("annealed-vae", 0, gamma="3", c_max="50", iteration_threshold="100")
    assert start["loss"] == pytest.approx(start["reconstruction"] + 3.0 * start["kl"], rel=1e-5)
    # step 60 of a 100-step ramp to 50 nats: capacity 30, far above this KL, so gamma * (30 - KL)
    ramp = step("annealed-vae", 60, gamma="3", c_max="50", iteration_threshold="100")
    assert ramp["kl"] < 30
    assert ramp["loss"] == pytest.approx(ramp["reconstruction"] + 3.0 * (30.0 - ramp["kl"]), rel=1e-5)
    # past the ramp the capacity stays at c_max
    late = step("annealed-vae", 500, gamma="3", c_max="50", iteration_threshold="100")
    assert late["loss"] == pytest.approx(late["reconstruction"] + 3.0 * (50.0 - late["kl"]), rel=1e-5)


def dip_penalties(name: str, lambda_od: float) -> float:
    losses = step(name, lambda_od=str(lambda_od))
    return losses["loss"] - losses["reconstruction"] - losses["kl"]


def covariance_penalties(codes: np.ndarray, ddof: int) -> tuple[float, float]:
    """(sum of squared off-diagonal covariances, sum of squared (diagonal - 1)) of ``(B, d)`` codes."""
    covariance = np.cov(codes.T, ddof=ddof)
    return float(np.sum((covariance - np.diag(np.diag(covariance))) ** 2)), float(np.sum((np.diag(covariance) - 1) ** 2))


# dlib's covariance divides by the batch size (ddof 0); main divides by B - 1 and the vaefid branch
# fixes it to B: accept both until they merge, then keep ddof 0 alone
COVARIANCE_DDOF = (0, 1)


def test_dip_vae_i_penalises_the_covariance_of_the_encoder_means_with_dlib_default_weights():
    method = build("dip-vae-i", lambda_od="1")
    x, _ = method.dataset.sample(BATCH, np.random.default_rng(1))  # the batch the step draws
    codes = method.encode(x).spaces["latent"]  # the encoder means
    penalty = dip_penalties("dip-vae-i", 1.0)
    # lambda_d = 10 x lambda_od, dlib's default for DIP-VAE-I
    candidates = [off + 10.0 * diagonal for off, diagonal in (covariance_penalties(codes, d) for d in COVARIANCE_DDOF)]
    assert min(abs(penalty - c) / c for c in candidates) < 1e-4, (penalty, candidates)
    assert dip_penalties("dip-vae-i", 2.0) == pytest.approx(2.0 * penalty, rel=1e-4)  # both weights scale with lambda_od


def test_dip_vae_ii_adds_the_posterior_variance_to_the_covariance():
    method = build("dip-vae-ii", lambda_od="1")
    x, _ = method.dataset.sample(BATCH, np.random.default_rng(1))
    codes = method.encode(x).spaces["latent"]
    penalty = dip_penalties("dip-vae-ii", 1.0)
    # on the means alone (DIP-VAE-I's covariance, weights 1 and 1) the diagonal would sit near 0; the
    # posterior variances (exp(logvar), near 1 at initialisation) move it, so the penalty differs
    means_only = [off + diagonal for off, diagonal in (covariance_penalties(codes, d) for d in COVARIANCE_DDOF)]
    assert all(abs(penalty - c) > 0.1 * c for c in means_only), (penalty, means_only)
    assert dip_penalties("dip-vae-ii", 2.0) == pytest.approx(2.0 * penalty, rel=1e-4)


def test_factor_vae_adds_gamma_times_the_discriminator_log_ratio():
    # a discriminator whose logits are the constants (2, -1) for every code: class 0 (codes of
    # q(z)) against class 1 (dimension-wise shuffled codes), log-ratio 3
    def constant_discriminator(method):
        last = [m for m in method.model.discriminator.modules() if isinstance(m, torch.nn.Linear)][-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.tensor([2.0, -1.0]))
        return method

    losses = {}
    for gamma in ("0", "7"):
        method = constant_discriminator(build("factor-vae", gamma=gamma, discriminator_hidden="8"))
        torch.manual_seed(5)
        losses[gamma] = {k: float(v.detach()) for k, v in method.training_step(0, np.random.default_rng(1)).items()}
    log_softmax = F.log_softmax(torch.tensor([2.0, -1.0]), dim=0)
    discriminator = -0.5 * float(log_softmax[0] + log_softmax[1])
    for gamma, weight in (("0", 0.0), ("7", 7.0)):
        got = losses[gamma]
        assert got["discriminator"] == pytest.approx(discriminator, rel=1e-5)
        assert got["loss"] == pytest.approx(got["reconstruction"] + got["kl"] + weight * 3.0 + discriminator, rel=1e-5)
