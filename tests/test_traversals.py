"""VAE traversal and reconstruction figures."""

from __future__ import annotations

import numpy as np
import torch

from disbench.training.runs import load_run, resolve_run_spec, train_run
from disbench.figures.traversals import traversal_grid, write_vae_figures
from disbench.methods.vae import latent_statistics


class _FakeVAE:
    """Encoder: the first 3 pixels are the mean, log-variance fixed per latent; decoder: the code as a 1 x 3 image."""

    bernoulli = False

    def __init__(self):
        logvar = torch.tensor([0.0, -3.0, -0.5])

        class Model:
            def posterior(self, x):
                mean = x.flatten(1)[:, :3]
                return mean, logvar.expand_as(mean)

            def decoder(self, z):
                return z.view(-1, 1, 1, 3)

        self.model = Model()

    def to_tensor(self, array):
        return torch.as_tensor(array, dtype=torch.float32)


def test_each_row_sweeps_its_latent_alone_by_two_standard_deviations():
    method = _FakeVAE()
    seeds = np.array([[0.1, 0.2, 0.3], [0.5, 0.4, 0.6]])
    scale = np.array([0.05, 0.1, 0.02])
    order = np.array([1, 0, 2])
    grid = traversal_grid(method, seeds, scale, order, steps=5)
    assert grid.shape == (2, 3, 5, 1, 1, 3)
    offsets = np.linspace(-2, 2, 5)
    for s in range(2):
        for row, latent in enumerate(order):
            expected = np.repeat(seeds[s][None], 5, axis=0)
            expected[:, latent] += offsets * scale[latent]
            np.testing.assert_allclose(grid[s, row, :, 0, 0], expected, atol=1e-6)


def test_latents_are_ranked_by_their_mean_kl():
    method = _FakeVAE()
    x = np.random.default_rng(0).uniform(0.2, 0.8, size=(200, 1, 1, 3))
    means, scale, kl = latent_statistics(method, x)
    np.testing.assert_allclose(means, x.reshape(200, 3), atol=1e-6)
    np.testing.assert_allclose(scale, x.reshape(200, 3).std(axis=0), atol=1e-6)
    logvar = np.array([0.0, -3.0, -0.5])
    expected = 0.5 * ((x.reshape(200, 3) ** 2).mean(axis=0) + np.exp(logvar) - logvar - 1)
    np.testing.assert_allclose(kl, expected, rtol=1e-5)


def test_a_trained_vae_gets_both_figures_and_vector_data_gets_none(tmp_path):
    spec = resolve_run_spec("beta-vae", "dsprites", seed=0, steps=3, overrides={"batch_size": "8"})
    run_dir = train_run(spec, tmp_path / "runs", device="cpu").run_dir
    _, dataset, method = load_run(run_dir)
    x, _ = dataset.sample(40, np.random.default_rng(0))
    written = write_vae_figures(method, x, run_dir)
    assert [p.name for p in written] == ["traversals.png", "reconstructions.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    vector = resolve_run_spec("beta-vae", "synthetic", seed=0, steps=3, overrides={"batch_size": "8", "hidden": "16"})
    vector_dir = train_run(vector, tmp_path / "runs", device="cpu").run_dir
    _, dataset, method = load_run(vector_dir)
    assert write_vae_figures(method, dataset.sample(20, np.random.default_rng(0))[0], vector_dir) == []
