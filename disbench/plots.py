"""Leaderboard plots: one panel per (dataset, metric), a bar per method with its seed spread."""

from __future__ import annotations

import math
from pathlib import Path

from disbench.atomic import atomic_path
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
