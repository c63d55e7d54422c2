"""Leaderboard plots: one panel per (dataset, metric), a bar per method with its seed spread."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from disbench.atomic import atomic_path
from disbench.errors import UsageError
from disbench.report import REFERENCE_METHODS, ReportTable


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


def _pyplot():
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
        _pyplot().close(fig)
    return path


def _wrapped(text: str) -> str:
    import textwrap

    # long metric names stay whole; the panel is made wide enough for them (_title_width)
    text = text.replace(" ↑", "\u00a0↑").replace(" ↓", "\u00a0↓")  # the arrow stays with its metric
    return "\n".join(textwrap.wrap(text, TITLE_WIDTH, break_on_hyphens=False, break_long_words=False)) or text


def _wrapped_label(entry: str, width: int = 40) -> str:
    """A long entry name on several lines, broken after its commas."""
    import textwrap

    return "\n".join(textwrap.wrap(entry, width, break_on_hyphens=False, break_long_words=False)) or entry


def _title_inches(titles) -> float:
    """Axes width (inches) that holds the longest line of the wrapped ``titles`` at 10 pt."""
    longest = max((len(line) for t in titles for line in _wrapped(t).splitlines()), default=10)
    return max(2.4, 0.085 * longest + 0.2)


def _panel_grid(columns: list[tuple[str, str]], width: float, height: float):
    """A panel per (dataset, metric) column: a metric per row and a dataset per column when there
    are several datasets (so panels of one metric line up), else up to three panels a row."""
    plt = _pyplot()
    datasets = list(dict.fromkeys(d for d, _ in columns))
    if len(datasets) > 1:
        metrics = list(dict.fromkeys(m for _, m in columns))
        positions = {(d, m): metrics.index(m) * len(datasets) + datasets.index(d) for d, m in columns}
        rows, cols = len(metrics), len(datasets)
    else:
        cols = min(3, len(columns))
        rows = math.ceil(len(columns) / cols)
        positions = {column: i for i, column in enumerate(columns)}
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained")
    flat = list(axes.flat)
    for index, ax in enumerate(flat):
        if index not in positions.values():
            ax.axis("off")
    return fig, [flat[positions[column]] for column in columns]


def _share_x_per_metric(columns: list[tuple[str, str]], axes: list) -> None:
    """Panels of one metric (on different datasets) get one x range holding all their data."""
    groups: dict[str, list] = {}
    for (_dataset, metric), ax in zip(columns, axes):
        groups.setdefault(metric, []).append(ax)
    for group in groups.values():
        if len(group) < 2:
            continue
        low = min(ax.get_xlim()[0] for ax in group)
        high = max(ax.get_xlim()[1] for ax in group)
        for ax in group[1:]:
            ax.sharex(group[0])
        group[0].set_xlim(low, high)


def plot_steps(frame, path: str | Path) -> Path:
    """Each metric against the checkpoint ``steps`` it was scored at: mean ± std over seeds, a line per entry.

    ``frame``: report rows of every checkpoint (:func:`disbench.report.selected_rows` with
    ``all_steps``), with ``entry``, ``dataset``, ``column``, ``steps``, ``seed``, ``value``.
    The x axis is logarithmic where the steps span a decade or more.
    """
    from disbench.report import pooled

    columns = sorted(set(zip(frame["dataset"], frame["column"])))
    fig, axes = _panel_grid(columns, 0.8 + _title_inches([f"{d} / {c}" for d, c in columns]), 3.4)
    stats = pooled(frame, ["entry", "dataset", "column", "steps"])
    entries = list(dict.fromkeys(frame["entry"]))
    colours = {e: f"C{i % 10}" for i, e in enumerate(entries)}
    positive = frame["steps"][frame["steps"] > 0]
    log_x = len(positive) > 0 and positive.min() > 0 and (frame["steps"] > 0).all() and positive.max() / positive.min() >= 10
    for ax, (dataset, column) in zip(axes, columns):
        panel = stats[(stats["dataset"] == dataset) & (stats["column"] == column)]
        for entry in entries:
            line = panel[panel["entry"] == entry].sort_values("steps")
            if line.empty:
                continue
            x, mean, std = line["steps"].to_numpy(), line["mean"].to_numpy(), line["std"].to_numpy()
            ax.plot(x, mean, marker="o", markersize=3, color=colours[entry], label=entry)
            ax.fill_between(x, mean - std, mean + std, color=colours[entry], alpha=0.2, linewidth=0)
        if log_x:
            ax.set_xscale("log")
            # the scored steps as plain numbers: minor-tick labels (2x10^1, 3x10^1, ...) overlap
            from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

            ax.xaxis.set_major_locator(FixedLocator(sorted(set(positive.tolist()))))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        ax.set_title(_wrapped(f"{dataset} / {column}"), fontsize=10)
        ax.set_xlabel("training steps")
        ax.grid(alpha=0.3)
    _share_x_per_metric(columns, axes)
    legend = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    labels, handles = list(legend), list(legend.values())
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize=9, frameon=False)
    fig.suptitle("mean ± std over seeds at each scored checkpoint", fontsize=10)
    return save_figure(fig, path)


def plot_correlations(correlations, path: str | Path) -> Path:
    """A heatmap of Spearman's rho between metrics (:class:`disbench.study.Correlations`), values written in."""
    import numpy as np

    plt = _pyplot()
    metrics = correlations.metrics
    n = len(metrics)
    matrix = max(2.4, 0.6 * n)
    labels = 0.075 * max(len(m) for m in metrics) + 0.3
    fig, ax = plt.subplots(figsize=(matrix + labels + 1.6, matrix + 0.75 * labels + 0.8), layout="constrained")
    rho = correlations.rho.loc[metrics, metrics].to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(rho), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), metrics, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), metrics)
    for i in range(n):
        for j in range(n):
            value = rho[i, j]
            text = "–" if np.isnan(value) else f"{value:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if abs(np.nan_to_num(value)) > 0.6 else "black")
    fig.colorbar(image, ax=ax, label="Spearman rank correlation", shrink=0.8)
    runs = int(correlations.n_runs.to_numpy().max())
    # a figure title: an axes title would run into the colourbar's tick labels
    fig.suptitle(_wrapped(f"{correlations.dataset}: Spearman correlation across {runs} runs"), fontsize=10)
    return save_figure(fig, path)


def plot_report(table: ReportTable, path: str | Path) -> Path:
    """One panel per (dataset, metric): a bar per entry with its seed spread; panels of a metric share x."""
    labels = {e: _wrapped_label(e) for e in table.entries}
    longest = max((len(line) for text in labels.values() for line in text.splitlines()), default=8)
    lines = sum(text.count("\n") + 1 for text in labels.values())
    width = 0.6 + 0.062 * longest + _title_inches([table.header(c) for c in table.columns])
    fig, axes = _panel_grid(table.columns, width, 0.3 * len(table.entries) + 0.14 * lines + 1.3)
    for ax, column in zip(axes, table.columns):
        entries = [e for e in table.entries if (e, column) in table.cells]
        means = [table.cells[(e, column)].mean for e in entries]
        stds = [table.cells[(e, column)].std for e in entries]
        colours = ["#bbbbbb" if table.is_reference(e) else "#1f77b4" for e in entries]
        colours = ["#2ca02c" if table.cells[(e, column)].best else c for e, c in zip(entries, colours)]
        ax.barh(range(len(entries)), means, xerr=stds, color=colours, capsize=3)
        ax.set_yticks(range(len(entries)), [labels[e] for e in entries], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(_wrapped(table.header(column)), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    _share_x_per_metric(table.columns, axes)
    fig.suptitle("mean ± std over seeds (green: best, grey: reference rows)", fontsize=10)
    return save_figure(fig, path)


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
