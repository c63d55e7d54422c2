"""Drawing figures: formats and atomic saving, wrapped titles and labels, grids of panels, R^2 heatmaps.

Nothing here knows a report: :mod:`disbench.report.plots` draws report tables with these pieces.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from disbench.store.atomic import atomic_path
from disbench.errors import UsageError


#: figure formats written by their extension; anything else is refused rather than mislabelled
FIGURE_FORMATS = ("png", "svg", "pdf")
#: characters per line of a panel title before it wraps
TITLE_WIDTH = 34


def figure_format(path: str | Path) -> str:
    """The format ``path``'s extension names (``png``, ``svg`` or ``pdf``).

    Raises:
        UsageError: any other extension (never PNG bytes under another name).
    """
    from disbench.errors import UsageError

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        raise UsageError(
            f"cannot write a figure to {str(path)!r}: use a .png, .svg or .pdf file name "
            f"({'no extension' if not suffix else f'.{suffix} is not supported'})."
        )
    return suffix


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` atomically in the format of ``path``'s extension and close it."""
    path = Path(path)
    fmt = figure_format(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=fmt)
    finally:
        pyplot().close(fig)
    return path


def wrapped_title(text: str) -> str:
    import textwrap

    # long metric names stay whole; the panel is made wide enough for them (_title_width)
    text = text.replace(" ↑", "\u00a0↑").replace(" ↓", "\u00a0↓")  # the arrow stays with its metric
    return "\n".join(textwrap.wrap(text, TITLE_WIDTH, break_on_hyphens=False, break_long_words=False)) or text


def wrapped_label(entry: str, width: int = 40) -> str:
    """A long entry name on several lines, broken after its commas."""
    import textwrap

    return "\n".join(textwrap.wrap(entry, width, break_on_hyphens=False, break_long_words=False)) or entry


def title_inches(titles) -> float:
    """Axes width (inches) that holds the longest line of the wrapped ``titles`` at 10 pt."""
    longest = max((len(line) for t in titles for line in wrapped_title(t).splitlines()), default=10)
    return max(2.4, 0.085 * longest + 0.2)


#: panels side by side in a figure: a figure stays screen-sized (about 1,600 px wide at most)
PANELS_PER_ROW = 4


def panel_grid(count: int, width: float, height: float, label_inches: float = 0.0, sharey: bool = False):
    """``count`` panels of ``width`` x ``height`` inches, :data:`PANELS_PER_ROW` a row; ``label_inches``
    more on the left for the y labels (shared along a row with ``sharey``)."""
    plt = pyplot()
    cols = min(PANELS_PER_ROW, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(label_inches + width * cols, height * rows + 0.6), squeeze=False, sharey=sharey, layout="constrained"
    )
    flat = list(axes.flat)
    for ax in flat[count:]:
        ax.axis("off")
    return fig, flat[:count]


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
