"""The VAE family of disentanglement_lib's study (Locatello et al. 2019).

One model (encoder to mean and log-variance, reparameterised sample, decoder) and
one loss shape, ``reconstruction + regulariser``; each family member changes only
the regulariser:

========== ============================================= ===========================
name       regulariser                                   paper
========== ============================================= ===========================
beta-vae   beta * KL(q(z|x) || N(0, I))                  Higgins et al. 2017
annealed   gamma * |KL - C(step)|, C ramps to c_max      Burgess et al. 2018
beta-tcvae KL + (beta - 1) * total correlation (MWS)     Chen et al. 2018
dip-vae-i  KL + lambda_od * offdiag(Cov mu)^2            Kumar et al. 2018
           + lambda_d * (diag(Cov mu) - 1)^2
dip-vae-ii as dip-vae-i on Cov(z) = Cov mu + E diag var  Kumar et al. 2018
factor-vae KL + gamma * discriminator's TC estimate      Kim & Mnih 2018
========== ============================================= ===========================

Each term is computed as dlib computes it: batch covariances divide by the
batch size, lambda_d = lambda_d_factor * lambda_od, the total-correlation
estimate drops dlib's constant normalisers, the FactorVAE discriminator's
probabilities are clipped to [1e-6, 1 - 1e-6]. On images the networks are
dlib's conv encoder and deconv decoder (:mod:`disbench.methods.nets`).

Reconstruction is Bernoulli (binary cross-entropy on logits, summed over pixels)
for images and Gaussian (summed squared error) for vectors; codes are the
encoder mean, as dlib evaluates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from disbench.errors import DisbenchError
from disbench.lazy import lazy_module
from disbench.methods.base import TorchMethod, TrainableConfig
from disbench.methods.registry import METHODS

if TYPE_CHECKING:
    import torch
    import torch.nn.functional as F
    from torch import nn

    from disbench.methods import nets
else:  # imported on first use: registering the methods and resolving their configs needs no torch
    torch = lazy_module("torch")
    F = lazy_module("torch.nn.functional")
    nn = lazy_module("torch.nn")
    nets = lazy_module("disbench.methods.nets")


@dataclass
class VAEConfig(TrainableConfig):
    """Attributes:
    latent_dim: number of latent dimensions (dlib: 10).
    reconstruction: ``bernoulli`` (images), ``gaussian`` (vectors) or ``auto`` (by data shape).
    hidden: hidden layer widths of the MLP encoder/decoder for vector data.
    """

    latent_dim: int = 10
    reconstruction: Literal["auto", "bernoulli", "gaussian"] = "auto"
    hidden: tuple[int, ...] = (256, 256)
    lr: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {self.latent_dim}")


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp logvar) || N(0, I)) per example and dimension, shape ``(B, d)``."""
    return 0.5 * (mean.pow(2) + logvar.exp() - logvar - 1.0)


def latent_statistics(method: Any, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encoder means ``(N, d)``, their standard deviation per latent ``(d,)`` and the mean KL per latent ``(d,)``.

    ``method``: a VAE-family method (``model.posterior`` and ``to_tensor``).
    """
    means, kls = [], []
    with torch.no_grad():
        for start in range(0, len(observations), 512):
            mean, logvar = method.model.posterior(method.to_tensor(observations[start : start + 512]))
            means.append(mean.cpu().numpy())
            kls.append(gaussian_kl(mean, logvar).sum(dim=0).cpu().numpy())
    means_array = np.concatenate(means).astype(np.float64)
    return means_array, means_array.std(axis=0), np.sum(kls, axis=0) / len(observations)


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mean).pow(2) * torch.exp(-logvar))


def total_correlation(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Minibatch-weighted-sampling estimate of TC(z) (Chen et al. 2018), as dlib computes it.

    Like dlib, the log-normalisers are dropped: the value is the estimate minus
    ``(d - 1) log(batch)``, a constant that leaves the gradient unchanged.
    """
    log_qz_prob = gaussian_log_density(z.unsqueeze(1), mean.unsqueeze(0), logvar.unsqueeze(0))  # (B, B, d)
    log_qz_product = torch.logsumexp(log_qz_prob, dim=1).sum(dim=1)
    log_qz = torch.logsumexp(log_qz_prob.sum(dim=2), dim=1)
    return (log_qz - log_qz_product).mean()


def covariance(codes: torch.Tensor) -> torch.Tensor:
    """Covariance of ``(B, d)`` codes dividing by B, as dlib's ``compute_covariance_z_mean``."""
    return torch.cov(codes.T, correction=0)


def dip_regulariser(covariance: torch.Tensor, lambda_od: float, lambda_d: float) -> torch.Tensor:
    diagonal = torch.diagonal(covariance)
    off_diagonal = covariance - torch.diag(diagonal)
    return lambda_od * off_diagonal.pow(2).sum() + lambda_d * (diagonal - 1).pow(2).sum()


class VAEMethod(TorchMethod):
    """Shared model, reconstruction and training step; subclasses define :meth:`regulariser`."""

    Config = VAEConfig

    def build(self) -> nn.Module:
        return nets.VAEModel(tuple(self.dataset.observation_shape), self.config.latent_dim, tuple(self.config.hidden))

    @property
    def bernoulli(self) -> bool:
        choice = self.config.reconstruction
        return nets.is_image(self.dataset.observation_shape) if choice == "auto" else choice == "bernoulli"

    def reconstruction_loss(self, x: torch.Tensor, decoded: torch.Tensor) -> torch.Tensor:
        if self.bernoulli:
            per_example = F.binary_cross_entropy_with_logits(decoded, x, reduction="none")
        else:
            per_example = (decoded - x).pow(2)
        return per_example.flatten(1).sum(dim=1).mean()

    def regulariser(
        self, step: int, mean: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor, kl: torch.Tensor,
        hyper: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The family member's term; ``hyper`` holds :attr:`stackable` values (None: the config's)."""
        raise NotImplementedError

    def draw_inputs(self, step: int, rng: np.random.Generator, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        observations, _ = self.dataset.sample(self.config.batch_size, rng)
        x = self.to_tensor(observations)
        # drawn as randn_like(mean) would draw it: the same numbers from the same generator state
        noise = torch.randn((len(x), self.config.latent_dim), device=self.device, generator=generator)
        return x, noise

    def step_losses(self, step: int, inputs: tuple[torch.Tensor, ...], hyper: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.vae_losses(step, inputs[0], inputs[1], hyper)[0]

    def vae_losses(
        self, step: int, x: torch.Tensor, noise: torch.Tensor, hyper: dict[str, torch.Tensor]
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The ELBO terms and the regulariser of one batch, and the sampled codes ``z``."""
        mean, logvar, z, decoded = self.model(x, noise)
        reconstruction = self.reconstruction_loss(x, decoded)
        kl = gaussian_kl(mean, logvar).sum(dim=1).mean()
        regulariser = self.regulariser(step, mean, logvar, z, kl, hyper)
        return {"loss": reconstruction + regulariser, "reconstruction": reconstruction, "kl": kl}, z

    def encode_batch(self, observations: torch.Tensor) -> dict[str, torch.Tensor]:
        mean, _ = self.model.posterior(observations)
        return {"latent": mean}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            super().load_state_dict(state)
        except RuntimeError as exc:  # parameter names or shapes of another network
            raise DisbenchError(
                "this checkpoint holds a network other than the one this disbench builds (its conv encoder "
                "follows dlib's exactly); retrain the run with `disbench train ... --overwrite`."
            ) from exc


@dataclass
class BetaVAEConfig(VAEConfig):
    """Attributes:
    beta: weight of the KL term (dlib sweep: 1, 2, 4, 6, 8, 16).
    """

    beta: float = 4.0


@METHODS.register("beta-vae")
class BetaVAE(VAEMethod):
    """beta-VAE (Higgins et al. 2017): ELBO with the KL term weighted by beta."""

    Config = BetaVAEConfig
    summary = "VAE with a beta-weighted KL term"
    reference = "Higgins et al. 2017, beta-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework"

    stackable = ("beta",)

    def regulariser(self, step, mean, logvar, z, kl, hyper=None):
        return self.hyperparameters(hyper)["beta"] * kl


@dataclass
class AnnealedVAEConfig(VAEConfig):
    """Attributes:
    gamma: weight of the capacity constraint (dlib: 1000).
    c_max: final capacity in nats (dlib sweep: 5, 10, 25, 50, 75, 100).
    iteration_threshold: steps over which the capacity ramps from 0 to c_max (dlib: 100,000).
    """

    gamma: float = 1000.0
    c_max: float = 25.0
    iteration_threshold: int = 100_000


@METHODS.register("annealed-vae")
class AnnealedVAE(VAEMethod):
    """AnnealedVAE (Burgess et al. 2018): KL pinned to a capacity that grows linearly to c_max."""

    Config = AnnealedVAEConfig
    summary = "VAE with a linearly growing KL capacity"
    reference = "Burgess et al. 2018, Understanding disentangling in beta-VAE"

    stackable = ("gamma", "c_max")

    def regulariser(self, step, mean, logvar, z, kl, hyper=None):
        hyper = self.hyperparameters(hyper)
        capacity = torch.minimum(hyper["c_max"], hyper["c_max"] * step / max(1, self.config.iteration_threshold))
        return hyper["gamma"] * (kl - capacity).abs()


@METHODS.register("beta-tcvae")
class BetaTCVAE(VAEMethod):
    """beta-TCVAE (Chen et al. 2018): KL plus (beta - 1) times a minibatch estimate of total correlation."""

    Config = BetaVAEConfig
    summary = "VAE penalising the total correlation of the aggregate posterior"
    reference = "Chen et al. 2018, Isolating Sources of Disentanglement in VAEs"

    stackable = ("beta",)

    def regulariser(self, step, mean, logvar, z, kl, hyper=None):
        return kl + (self.hyperparameters(hyper)["beta"] - 1.0) * total_correlation(z, mean, logvar)


@dataclass
class DIPVAEIConfig(VAEConfig):
    """Attributes:
    lambda_od: weight of the off-diagonal covariance penalty (dlib sweep: 1, 2, 5, 10, 20, 50).
    lambda_d_factor: the diagonal penalty's weight is ``lambda_d_factor * lambda_od``
        (dlib: 10 for DIP-VAE-I, 1 for DIP-VAE-II).
    """

    lambda_od: float = 10.0
    lambda_d_factor: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lambda_od < 0 or self.lambda_d_factor < 0:
            raise ValueError(f"lambda_od and lambda_d_factor must be non-negative, got {self.lambda_od}, {self.lambda_d_factor}")


@dataclass
class DIPVAEIIConfig(DIPVAEIConfig):
    __doc__ = DIPVAEIConfig.__doc__

    lambda_d_factor: float = 1.0


class DIPVAE(VAEMethod):
    reference = "Kumar et al. 2018, Variational Inference of Disentangled Latent Concepts from Unlabeled Observations"
    include_posterior_variance = False
    stackable = ("lambda_od", "lambda_d_factor")

    def regulariser(self, step, mean, logvar, z, kl, hyper=None):
        hyper = self.hyperparameters(hyper)
        codes_covariance = covariance(mean)
        if self.include_posterior_variance:
            codes_covariance = codes_covariance + torch.diag(logvar.exp().mean(dim=0))
        lambda_d = hyper["lambda_d_factor"] * hyper["lambda_od"]
        return kl + dip_regulariser(codes_covariance, hyper["lambda_od"], lambda_d)


@METHODS.register("dip-vae-i")
class DIPVAEI(DIPVAE):
    """DIP-VAE-I: decorrelates the encoder means."""

    Config = DIPVAEIConfig
    summary = "VAE matching Cov[mean] to the identity"


@METHODS.register("dip-vae-ii")
class DIPVAEII(DIPVAE):
    """DIP-VAE-II: decorrelates the aggregate posterior (means plus posterior variances)."""

    Config = DIPVAEIIConfig
    summary = "VAE matching Cov[z] to the identity"
    include_posterior_variance = True


@dataclass
class FactorVAEConfig(VAEConfig):
    """Attributes:
    gamma: weight of the discriminator's total-correlation estimate (dlib sweep: 10, 20, 30, 40, 50, 100).
    discriminator_hidden: width of the discriminator's 6 hidden layers (dlib: 1000).
    discriminator_lr: Adam learning rate of the discriminator (betas 0.5, 0.9 as dlib).
    """

    gamma: float = 10.0
    discriminator_hidden: int = 1000
    discriminator_lr: float = 1e-4


def permute_dims(z: torch.Tensor, keys: torch.Tensor | None = None) -> torch.Tensor:
    """Shuffle each latent dimension independently across the batch: samples of prod_j q(z_j).

    Args:
        keys: uniform numbers of ``z``'s shape whose order along the batch is each dimension's
            permutation (None: drawn with ``torch.rand_like``).
    """
    order = torch.argsort(torch.rand_like(z) if keys is None else keys, dim=0)
    return torch.gather(z, 0, order)


def discriminator_cross_entropy(real_logits: torch.Tensor, shuffled_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss as dlib's: class 0 for codes, 1 for shuffled codes, probabilities clipped to [1e-6, 1 - 1e-6].

    Args:
        real_logits, shuffled_logits: ``(B, 2)`` logits on codes and on dimension-wise shuffled codes.
    """
    real = F.softmax(real_logits, dim=1).clamp(1e-6, 1 - 1e-6)
    shuffled = F.softmax(shuffled_logits, dim=1).clamp(1e-6, 1 - 1e-6)
    return -0.5 * (real[:, 0].log().mean() + shuffled[:, 1].log().mean())


@METHODS.register("factor-vae")
class FactorVAE(VAEMethod):
    """FactorVAE (Kim & Mnih 2018): ELBO plus gamma times a discriminator's estimate of total correlation.

    The discriminator tells q(z) from prod_j q(z_j) (dimension-wise shuffled codes). One
    backward pass trains both players: the VAE sees the discriminator's logits through
    detached discriminator weights, the discriminator sees detached codes. One step here
    is one update of each player; dlib counts it as two global steps (two ``minimize``
    calls), so its 300,000 steps are 150,000 here.
    """

    Config = FactorVAEConfig
    summary = "VAE penalising total correlation estimated by a discriminator"
    reference = "Kim & Mnih 2018, Disentangling by Factorising"

    def build(self) -> nn.Module:
        cfg = self.config
        return nets.FactorVAEModel(tuple(self.dataset.observation_shape), cfg.latent_dim, tuple(cfg.hidden), cfg.discriminator_hidden)

    def configure_optimizer(self) -> torch.optim.Optimizer:
        discriminator = list(self.model.discriminator.parameters())
        ids = {id(p) for p in discriminator}
        vae = [p for p in self.model.parameters() if id(p) not in ids]
        return torch.optim.Adam(
            [
                {"params": vae, "lr": self.config.lr},
                {"params": discriminator, "lr": self.config.discriminator_lr, "betas": (0.5, 0.9)},
            ]
        )

    #: the discriminator's parameters stack beside the VAE's, in their own group of the stacked
    #: Adam (their own learning rate and betas): Adam updates each tensor alone, so that group is
    #: the discriminators' own optimiser
    stackable = ("gamma",)

    def draw_inputs(self, step, rng, generator=None):
        x, noise = super().draw_inputs(step, rng, generator)
        # drawn after the noise, as rand_like(z) in the shuffle would draw them from the same generator
        shuffle_keys = torch.rand(noise.shape, device=self.device, generator=generator)
        return x, noise, shuffle_keys

    def regulariser(self, step, mean, logvar, z, kl, hyper=None):
        frozen = {name: p.detach() for name, p in self.model.discriminator.named_parameters()}
        logits = torch.func.functional_call(self.model.discriminator, frozen, (z,))
        return kl + self.hyperparameters(hyper)["gamma"] * (logits[:, 0] - logits[:, 1]).mean()

    def step_losses(self, step, inputs, hyper):
        x, noise, shuffle_keys = inputs
        losses, z = self.vae_losses(step, x, noise, hyper)
        codes = z.detach()
        discriminator_loss = discriminator_cross_entropy(
            self.model.discriminator(codes), self.model.discriminator(permute_dims(codes, shuffle_keys))
        )
        return {**losses, "loss": losses["loss"] + discriminator_loss, "discriminator": discriminator_loss}
