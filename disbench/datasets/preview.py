"""Preview pictures of a dataset: a grid of samples and the structured view pairs of each group."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from disbench.datasets.base import Dataset


def _as_rgb(images: np.ndarray) -> np.ndarray:
    """``(n, C, H, W)`` float in [0, 1] -> ``(n, H, W, 3)`` for plotting; vectors become bar images."""
    if images.ndim == 2:  # feature vectors (synthetic data): show as a 1-row heat strip
        lo, hi = images.min(), images.max()
        strip = (images - lo) / (hi - lo + 1e-12)
        return np.repeat(strip[:, None, :, None], 3, axis=3).repeat(4, axis=1)
    images = np.clip(images, 0.0, 1.0)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return images.transpose(0, 2, 3, 1)


def write_preview(dataset: Dataset, out_path: str | Path, rng: np.random.Generator, n_samples: int = 32,
                  n_view_rows: int = 6) -> Path:
    """Write a PNG: samples on the left, view pairs on the right (one row per example).

    The right panel's columns are: query | content key (shares content only) | one key
    per style group (shares content and that group with the query, the rest redrawn).

    Args:
        dataset: any registered dataset.
        out_path: PNG file to write (its folder must exist); written atomically.
        rng: the generator every draw comes from (same seed, same picture).
        n_samples: images in the sample grid.
        n_view_rows: examples in the view panel.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_path = Path(out_path)
    samples = _as_rgb(dataset.sample(n_samples, rng)[0])
    columns = 8
    rows = int(np.ceil(n_samples / columns))
    view_columns: list[tuple[str, np.ndarray]] = []
    if dataset.has_views:
        views = dataset.sample_views(n_view_rows, rng)
        view_columns = [("query", views.query), ("content key", views.content_key)]
        view_columns += [(f"key {group}", keys) for group, keys in views.group_keys.items()]

    width = columns + (len(view_columns) + 0.5 if view_columns else 0)
    figure = plt.figure(figsize=(1.5 * width, 1.5 * max(rows, n_view_rows) + 0.8))
    grid = figure.add_gridspec(max(rows, n_view_rows), columns + len(view_columns) + 1 if view_columns else columns)
    for i, image in enumerate(samples):
        axis = figure.add_subplot(grid[i // columns, i % columns])
        axis.imshow(image, interpolation="nearest")
        axis.set_axis_off()
    for c, (title, images) in enumerate(view_columns):
        pictures = _as_rgb(images)
        for r in range(n_view_rows):
            axis = figure.add_subplot(grid[r, columns + 1 + c])
            axis.imshow(pictures[r], interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if r == 0:
                axis.set_title(title, fontsize=7)
    figure.suptitle(f"{dataset.name}: samples" + ("  |  view pairs per group" if view_columns else ""), fontsize=10)
    temporary = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp.png")
    try:
        figure.savefig(temporary, dpi=80)
        os.replace(temporary, out_path)
    finally:
        plt.close(figure)
        temporary.unlink(missing_ok=True)
    return out_path
