"""Drawing figures: formats and atomic saving, wrapped titles and labels, grids of panels.

Nothing here knows a report: :mod:`disbench.report.plots` draws report tables with these pieces.
"""

from __future__ import annotations

import math
from pathlib import Path

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
