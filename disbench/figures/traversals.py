"""Looking at a VAE: latent traversals and reconstructions, written beside a run's results.

- ``traversals.png``: for a few seed images, each latent is swept from -2 to +2 standard
  deviations (of the encoder means over the evaluation sample) around the seed image's
  code while the other latents stay fixed, and decoded. Rows are latents sorted by their
  mean KL divergence to the prior (the most informative first; a latent with KL near zero
  is inactive and decodes to the same image along its row); each row is labelled with
  its KL.
- ``reconstructions.png``: originals (top row) and their decoded encoder means (bottom row).

Decoded logits are shown as Bernoulli means (sigmoid) for images, as the model is
trained. Only methods with a posterior and a decoder (the VAE family) have these figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disbench.methods.vae import latent_statistics
from disbench.store.atomic import atomic_path

TRAVERSALS = "traversals.png"
RECONSTRUCTIONS = "reconstructions.png"
#: observations a VAE's traversal figures are computed from (latent scales and KLs)
FIGURE_OBSERVATIONS = 1_000


def has_decoder(method: Any) -> bool:
    model = getattr(method, "model", None)
    return model is not None and hasattr(model, "posterior") and hasattr(model, "decoder")


def _decode(method: Any, codes: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        decoded = method.model.decoder(method.to_tensor(codes))
        if getattr(method, "bernoulli", True):
            decoded = torch.sigmoid(decoded)
    return decoded.clamp(0, 1).cpu().numpy()


def _as_picture(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """``(C, H, W)`` in [0, 1] -> what imshow takes, and its colour map."""
    if image.shape[0] == 1:
        return image[0], "gray"
    return np.moveaxis(image, 0, -1), None


def traversal_grid(method: Any, seed_codes: np.ndarray, scale: np.ndarray, order: np.ndarray, steps: int) -> np.ndarray:
    """Decoded traversals ``(seeds, latents in order, steps, C, H, W)``."""
    offsets = np.linspace(-2.0, 2.0, steps)
    codes = np.repeat(seed_codes[:, None, None, :], len(order), axis=1).repeat(steps, axis=2)
    for row, latent in enumerate(order):
        codes[:, row, :, latent] += offsets[None, :] * scale[latent]
    flat = codes.reshape(-1, seed_codes.shape[1])
    decoded = np.concatenate([_decode(method, flat[i : i + 512]) for i in range(0, len(flat), 512)])
    return decoded.reshape(len(seed_codes), len(order), steps, *decoded.shape[1:])


def _mosaic(grid: np.ndarray, gap: int = 2, block_gap: int = 8) -> tuple[np.ndarray, list[float]]:
    """Tile ``(seeds, rows, steps, C, H, W)`` into one picture, seeds side by side; returns it and each row's centre."""
    seeds, rows, steps, channels, height, width = grid.shape
    block_width = steps * width + (steps - 1) * gap
    total_width = seeds * block_width + (seeds - 1) * block_gap
    total_height = rows * height + (rows - 1) * gap
    mosaic = np.ones((total_height, total_width, channels))  # white between tiles
    for seed in range(seeds):
        for row in range(rows):
            for step in range(steps):
                top = row * (height + gap)
                left = seed * (block_width + block_gap) + step * (width + gap)
                mosaic[top : top + height, left : left + width] = np.moveaxis(grid[seed, row, step], 0, -1)
    centres = [row * (height + gap) + height / 2 for row in range(rows)]
    return (mosaic[..., 0] if channels == 1 else mosaic), centres


def write_vae_figures(
    method: Any, observations: np.ndarray, run_dir: str | Path, num_seeds: int = 3, steps: int = 9, num_reconstructions: int = 8
) -> list[Path]:
    """Write ``traversals.png`` and ``reconstructions.png`` for a VAE run; returns the paths written.

    Args:
        method: a trained method with ``model.posterior`` and ``model.decoder``.
        observations: evaluation images ``(N, C, H, W)``; the first ``num_seeds`` seed the
            traversals, all of them set each latent's standard deviation and KL.
    """
    if not has_decoder(method) or observations.ndim != 4:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    means, scale, kl = latent_statistics(method, observations)
    order = np.argsort(-kl, kind="stable")
    grid = traversal_grid(method, means[:num_seeds], scale, order, steps)
    mosaic, row_centres = _mosaic(grid)
    height, width = mosaic.shape[:2]
    # about one screen pixel per image pixel, plus room for the row labels
    fig, ax = plt.subplots(figsize=(width / 90 + 1.4, height / 90 + 0.5))
    ax.imshow(mosaic, cmap="gray" if mosaic.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(row_centres, [f"z{latent}  KL {kl[latent]:.2f}" for latent in order], fontsize=8)
    ax.set_xticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"latent traversals, -2 to +2 sd around {len(grid)} seed images (blocks); rows sorted by KL", fontsize=10)
    fig.tight_layout()
    written = [_save(fig, run_dir / TRAVERSALS)]
    plt.close(fig)

    originals = observations[:num_reconstructions]
    decoded = _decode(method, means[: len(originals)])
    fig, axes = plt.subplots(2, len(originals), figsize=(1.1 * len(originals), 2.6), squeeze=False)
    for column in range(len(originals)):
        for row, image in enumerate((originals[column], decoded[column])):
            picture, cmap = _as_picture(np.clip(image, 0, 1))
            axes[row, column].imshow(picture, cmap=cmap, vmin=0, vmax=1)
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=9)
    axes[1, 0].set_ylabel("decoded\nmean", fontsize=9)
    fig.suptitle("reconstructions", fontsize=10)
    fig.tight_layout()
    written.append(_save(fig, run_dir / RECONSTRUCTIONS))
    plt.close(fig)
    return written


def write_vae_figures_of_run(method: Any, dataset: Any, factors: np.ndarray, run_dir: Path, seed: int) -> list[Path]:
    """``traversals.png`` and ``reconstructions.png`` of a scored VAE run (nothing for other methods or non-images).

    The observations are rendered from the first :data:`FIGURE_OBSERVATIONS` rows of the
    run's evaluation ``factors``, with ``np.random.default_rng([seed, 2])``.
    """
    if not has_decoder(method):
        return []
    factors = factors[:FIGURE_OBSERVATIONS]
    observations = dataset.observations_from_factors(factors, np.random.default_rng([seed, 2]))
    return write_vae_figures(method, np.asarray(observations), run_dir)


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path
