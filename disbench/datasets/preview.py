"""Preview pictures of a dataset: what its observations, factors and structured views look like.

Image datasets get a grid of samples and, beside it, the view pairs of each group.
Vector datasets (synthetic, product manifolds) get labelled plots instead: pairwise
scatter plots of factors and of observation coordinates, and the distance between a
query and each kind of key (a key that shares more with its query lies closer).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from disbench.datasets.base import Dataset

#: file formats a preview is written in, chosen by the file's suffix
FORMATS = (".png", ".svg", ".pdf")
#: observation coordinates and factors drawn in the pairwise scatter plots of vector data
MAX_SCATTER_DIMS = 4
DEFAULT_IMAGES = 32
DEFAULT_POINTS = 1000


def _as_rgb(images: np.ndarray) -> np.ndarray:
    """``(n, C, H, W)`` float in [0, 1] -> ``(n, H, W, 3)`` for plotting."""
    images = np.clip(images, 0.0, 1.0)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return images.transpose(0, 2, 3, 1)


def write_preview(dataset: Dataset, out_path: str | Path, rng: np.random.Generator, n_samples: int | None = None,
                  n_view_rows: int = 6) -> Path:
    """Write a preview picture of ``dataset`` (PNG, SVG or PDF, by the suffix of ``out_path``).

    Images: samples on the left, view pairs on the right (one row per example; columns
    query | content key (shares content only) | one key per style group (shares content
    and that group with the query, the rest redrawn)). Vectors: labelled scatter plots
    (see the module docstring).

    Args:
        dataset: any registered dataset.
        out_path: file to write (its folder must exist); written atomically.
        rng: the generator every draw comes from (same seed, same picture).
        n_samples: images in the sample grid (default 32), or points in the scatter
            plots of vector data (default 1000).
        n_view_rows: examples in the view panel of image data.

    Returns:
        The path written.
    """
    import matplotlib.pyplot as plt

    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"a preview is written as {', '.join(FORMATS)}, not {out_path.suffix!r}")
    figure = preview_figure(dataset, rng, n_samples, n_view_rows)
    temporary = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp{suffix}")
    try:
        figure.savefig(temporary, dpi=80 if len(dataset.observation_shape) > 1 else 100, format=suffix[1:])
        os.replace(temporary, out_path)
    finally:
        plt.close(figure)
        temporary.unlink(missing_ok=True)
    return out_path


def preview_figure(dataset: Dataset, rng: np.random.Generator, n_samples: int | None = None, n_view_rows: int = 6):
    """The matplotlib figure :func:`write_preview` saves (arguments as there)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(dataset.observation_shape) == 1:
        return _vector_figure(plt, dataset, rng, n_samples or DEFAULT_POINTS)
    return _image_figure(plt, dataset, rng, n_samples or DEFAULT_IMAGES, n_view_rows)


def _image_figure(plt, dataset: Dataset, rng: np.random.Generator, n_samples: int, n_view_rows: int):
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
    return figure


def _spread_over_groups(dataset: Dataset, limit: int) -> list[int]:
    """Up to ``limit`` factor indices, taken in turn from each group, so that every group is shown."""
    per_group = [dataset.group_factor_indices(g) for g in dict.fromkeys(f.group for f in dataset.factors)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < min(limit, len(dataset.factors)):
        for indices in per_group:
            if depth < len(indices) and len(chosen) < limit:
                chosen.append(indices[depth])
        depth += 1
    return sorted(chosen)


def _scatter_matrix(subfigure, columns: np.ndarray, labels: list[str], colour: np.ndarray, colour_label: str, title: str):
    """Pairwise scatter plots (histograms on the diagonal), every axis labelled."""
    k = columns.shape[1]
    axes = np.atleast_2d(subfigure.subplots(k, k, squeeze=False))
    points = None
    for i in range(k):
        for j in range(k):
            axis = axes[i, j]
            if i == j:
                axis.hist(columns[:, j], bins=30, color="0.45")
            else:
                points = axis.scatter(columns[:, j], columns[:, i], c=colour, s=4, cmap="viridis", linewidths=0)
            axis.tick_params(labelsize=6)
            if i == k - 1:
                axis.set_xlabel(labels[j], fontsize=7)
            if j == 0:
                axis.set_ylabel(labels[i] if i else f"{labels[0]}\n(count)", fontsize=7)
    subfigure.suptitle(title, fontsize=9)
    if points is not None:
        bar = subfigure.colorbar(points, ax=axes.ravel().tolist(), shrink=0.6, pad=0.02)
        bar.set_label(f"colour: {colour_label}", fontsize=7)
        bar.ax.tick_params(labelsize=6)


def _vector_figure(plt, dataset: Dataset, rng: np.random.Generator, n_points: int):
    observations, factors = dataset.sample(n_points, rng)
    factor_indices = _spread_over_groups(dataset, MAX_SCATTER_DIMS)
    factor_labels = [f"{dataset.factors[i].name} ({dataset.factors[i].group})" for i in factor_indices]
    dims = list(range(min(MAX_SCATTER_DIMS, observations.shape[1])))
    colour_factor = factor_indices[0]
    colour = factors[:, colour_factor]

    figure = plt.figure(figsize=(15, 5.4), layout="constrained")
    panels = figure.subfigures(1, 3, width_ratios=[1, 1, 0.8] if dataset.has_views else [1, 1, 0.01])
    _scatter_matrix(panels[0], factors[:, factor_indices], factor_labels, colour, factor_labels[0],
                    f"factors ({len(factor_indices)} of {len(dataset.factors)})")
    _scatter_matrix(panels[1], observations[:, dims], [f"x[{d}]" for d in dims], colour, factor_labels[0],
                    f"observations (coordinates {dims[0]}-{dims[-1]} of {observations.shape[1]})")
    if dataset.has_views:
        views = dataset.sample_views(min(n_points, 1000), rng)
        axis = panels[2].subplots()
        shares = "content only" if dataset.group_factor_indices("content") else "nothing: no content factors"
        keys = [(f"content key (shares {shares})", views.content_key)]
        keys += [(f"key {g} (shares content + {g})", k) for g, k in views.group_keys.items()]
        distances = [np.linalg.norm(k - views.query, axis=1) for _, k in keys]
        bins = np.linspace(0.0, max(float(d.max()) for d in distances) or 1.0, 40)
        for (label, _), distance in zip(keys, distances):
            axis.hist(distance, bins=bins, histtype="step", linewidth=1.5, label=label)
        axis.set_xlabel("distance from query to key (observation space)", fontsize=8)
        axis.set_ylabel("view pairs", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=7)
        panels[2].suptitle("view pairs: query-key distance per group", fontsize=9)
    figure.suptitle(f"{dataset.name}: {n_points} samples", fontsize=11)
    return figure
