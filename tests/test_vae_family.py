"""Loss pieces of the VAE family, tested without training."""

from __future__ import annotations

import numpy as np
import torch

from disbench.methods.vae import dip_regulariser, gaussian_kl, permute_dims, total_correlation
from disbench.runs import build_dataset, build_method, resolve_run_spec


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
