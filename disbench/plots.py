"""Figures: leaderboard plots (a panel per (dataset, metric), a bar per method with its seed
spread) and the space x factor R^2 heatmaps of a scored run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from disbench.atomic import atomic_path
from disbench.errors import UsageError
from disbench.report import REFERENCE_METHODS, ReportTable


def plot_report(table: ReportTable, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(table.columns)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 0.45 * len(table.methods) * rows + 1.2 * rows), squeeze=False)
    for ax, column in zip(axes.flat, table.columns):
        methods = [m for m in table.methods if (m, column) in table.cells]
        means = [table.cells[(m, column)].mean for m in methods]
        stds = [table.cells[(m, column)].std for m in methods]
        colours = ["#bbbbbb" if m in REFERENCE_METHODS else "#1f77b4" for m in methods]
        colours = ["#2ca02c" if table.cells[(m, column)].best else c for m, c in zip(methods, colours)]
        ax.barh(range(len(methods)), means, xerr=stds, color=colours, capsize=3)
        ax.set_yticks(range(len(methods)), methods)
        ax.invert_yaxis()
        ax.set_title(table.header(column), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("mean ± std over seeds (green: best, grey: reference rows)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


#: inches: a heatmap is never shorter than this, so that a one-row matrix keeps a readable colourbar
_HEATMAP_MIN_HEIGHT = 2.8


def write_r2_heatmap(matrix, path: str | Path, title: str = "R$^2$ per space and factor") -> Path:
    """Write a heatmap PNG of R^2 values, rows = spaces, columns = factors, atomically.

    Args:
        matrix: ``pandas.DataFrame`` of R^2 values (index: space names, columns: factor names).
        path: the PNG to write (its folder must exist).
        title: figure title (may hold several lines).

    Returns:
        The written path.

    Raises:
        UsageError: an empty matrix or a missing folder.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(f"folder {str(path.parent)!r} does not exist; create it first.")
    fig = r2_heatmap_figure(matrix, title)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120, format="png")
    plt.close(fig)
    return path


def r2_heatmap_figure(matrix, title: str = "R$^2$ per space and factor"):
    """The matplotlib figure of :func:`write_r2_heatmap` (its last axes is the colourbar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if matrix.size == 0:
        raise UsageError("the R^2 matrix is empty; evaluate at least one space and one factor.")
    values = matrix.to_numpy(dtype=float)
    rows, cols = values.shape
    title_lines = title.splitlines() or [""]
    # wide enough for the longest title line (run names are long), not only for the cells
    width = max(3.5 + 0.75 * cols, 0.085 * max(len(line) for line in title_lines) + 0.5)
    height = max(_HEATMAP_MIN_HEIGHT, 1.4 + 0.2 * len(title_lines) + 0.55 * rows)
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(np.clip(values, 0.0, 1.0), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(cols), [str(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(rows), [str(r) for r in matrix.index])
    for i in range(rows):
        for j in range(cols):
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="black" if values[i, j] > 0.6 else "white")
    ax.set_xlabel("factor")
    ax.set_ylabel("space")
    ax.set_title(title, fontsize=10)
    # the colourbar spans the axes' full height, so even one row leaves room for its ticks and label
    colourbar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    colourbar.set_label("R$^2$ (clipped\nto [0, 1])", fontsize=8)
    colourbar.set_ticks([0.0, 0.5, 1.0])
    fig.tight_layout()
    return fig
