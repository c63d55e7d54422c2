"""Report figures: a file per dataset, a panel per metric, a bar (or a line over steps) per entry;
the heatmap of the correlations between metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from disbench.figures.plots import panel_grid, pyplot, save_figure, title_inches, wrapped_label, wrapped_title
from disbench.report.pooling import ReportTable, pooled

#: panels in one file: a report of many metrics continues in further files
PANELS_PER_FILE = 12


def figure_pages(columns: list[tuple[str, str]], path: str | Path) -> list[tuple[Path, str, list[tuple[str, str]]]]:
    """``(file, dataset, columns)`` of each figure a report plot writes: one per dataset, at most
    :data:`PANELS_PER_FILE` panels each.

    One dataset whose metrics fit one file is written to ``path`` itself; otherwise each file is
    ``path`` with ``_DATASET`` (and ``_partN`` past the first part) before its extension.
    """
    import re

    path = Path(path)
    datasets = list(dict.fromkeys(d for d, _ in columns))
    parts = {
        d: [c[i : i + PANELS_PER_FILE] for c in [[col for col in columns if col[0] == d]] for i in range(0, len(c), PANELS_PER_FILE)]
        for d in datasets
    }
    if len(datasets) == 1 and len(parts[datasets[0]]) == 1:
        return [(path, datasets[0], parts[datasets[0]][0])]
    pages = []
    for dataset in datasets:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset).strip("-") or "dataset"
        for number, chunk in enumerate(parts[dataset], start=1):
            suffix = f"_{slug}" + (f"_part{number}" if number > 1 else "")
            pages.append((path.with_name(f"{path.stem}{suffix}{path.suffix}"), dataset, chunk))
    return pages


def _metric_ranges(table: ReportTable) -> dict[str, tuple[float, float]]:
    """Per metric label: the x range holding every mean ± std and its value label, on every dataset."""
    ranges: dict[str, tuple[float, float]] = {}
    for (entry, (_dataset, metric)), cell in table.cells.items():
        low, high = ranges.get(metric, (0.0, 0.0))
        ranges[metric] = (min(low, cell.mean - cell.std), max(high, cell.mean + cell.std))
    # room right of the longest bar for its value label
    return {metric: (low - 0.02 * (high - low), high + 0.3 * ((high - low) or 1.0)) for metric, (low, high) in ranges.items()}


def plot_report(table: ReportTable, path: str | Path) -> list[Path]:
    """Bars of mean ± std over seeds, a panel per metric, a file per dataset (:func:`figure_pages`).

    Each figure lists only the entries scored on its dataset, in the table's order, named once
    per row of panels; each bar carries its value. Panels of one metric share their x range
    across datasets, so that the files compare.
    """
    ranges = _metric_ranges(table)
    written = []
    for page, dataset, columns in figure_pages(table.columns, path):
        entries = [e for e in table.entries if any((e, c) in table.cells for c in columns)]
        labels = [wrapped_label(e) for e in entries]
        longest = max((len(line) for text in labels for line in text.splitlines()), default=8)
        lines = sum(text.count("\n") + 1 for text in labels)
        titles = {c: c[1] + (" ↑" if table.higher_is_better[c] else " ↓") for c in columns}
        panel_width = max(2.6, title_inches(list(titles.values())))
        fig, axes = panel_grid(len(columns), panel_width, 0.26 * len(entries) + 0.12 * lines + 0.9, 0.3 + 0.065 * longest, sharey=True)
        positions = range(len(entries))
        for ax, column in zip(axes, columns):
            present = [(i, table.cells[(e, column)], e) for i, e in zip(positions, entries) if (e, column) in table.cells]
            colours = ["#2ca02c" if c.best else "#bbbbbb" if table.is_reference(e) else "#1f77b4" for _, c, e in present]
            ax.barh([i for i, _, _ in present], [c.mean for _, c, _ in present], xerr=[c.std for _, c, _ in present],
                    color=colours, capsize=3, error_kw={"linewidth": 1})
            for i, cell, _ in present:  # the value beside its bar, past the error bar
                ax.text(max(cell.mean + cell.std, 0.0), i, f"  {cell.mean:.3f}", va="center", fontsize=8)
            ax.set_yticks(list(positions), labels, fontsize=9)
            ax.set_ylim(len(entries) - 0.5, -0.5)
            ax.set_xlim(*ranges[column[1]])
            ax.axvline(0.0, color="black", linewidth=0.6)
            ax.set_title(wrapped_title(titles[column]), fontsize=10)
            ax.tick_params(axis="x", labelsize=8)
            ax.grid(axis="x", alpha=0.3)
        fig.suptitle(f"{dataset}: mean ± std over seeds (green: best, grey: reference rows)", fontsize=11)
        written.append(save_figure(fig, page))
    return written


def plot_steps(frame, path: str | Path) -> list[Path]:
    """Each metric against the checkpoint ``steps`` it was scored at: mean ± std over seeds, a line per entry.

    ``frame``: report rows of every checkpoint (:func:`disbench.report.rows.selected_rows` with
    ``all_steps``), with ``entry``, ``dataset``, ``column``, ``steps``, ``seed``, ``value``.
    A panel per metric, a file per dataset (:func:`figure_pages`); the x axis is logarithmic
    where the steps span a decade or more, its ticks the scored steps.
    """
    stats = pooled(frame, ["entry", "dataset", "column", "steps"])
    entries = list(dict.fromkeys(frame["entry"]))
    palette = [f"C{i}" for i in range(10)] if len(entries) <= 10 else list(pyplot().get_cmap("tab20").colors)
    colours = {e: palette[i % len(palette)] for i, e in enumerate(entries)}
    positive = frame["steps"][frame["steps"] > 0]
    log_x = len(positive) > 0 and (frame["steps"] > 0).all() and positive.max() / positive.min() >= 10
    written = []
    for page, dataset, columns in figure_pages(sorted(set(zip(frame["dataset"], frame["column"]))), path):
        panel_width = max(3.0, title_inches([c for _, c in columns]))
        fig, axes = panel_grid(len(columns), panel_width, 2.9)
        for ax, (_dataset, column) in zip(axes, columns):
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
            ax.set_title(wrapped_title(column), fontsize=10)
            ax.set_xlabel("training steps", fontsize=9)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3)
        legend = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                legend.setdefault(label, handle)
        if legend:
            fig.legend(list(legend.values()), list(legend), loc="outside lower center", ncols=min(4, len(legend)), fontsize=9, frameon=False)
        fig.suptitle(f"{dataset}: mean ± std over seeds at each scored checkpoint", fontsize=11)
        written.append(save_figure(fig, page))
    return written


def plot_correlations(correlations, path: str | Path) -> Path:
    """A heatmap of Spearman's rho between metrics (:class:`disbench.report.study.Correlations`), values written in."""
    plt = pyplot()
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
    fig.suptitle(wrapped_title(f"{correlations.dataset}: Spearman correlation across {runs} runs"), fontsize=10)
    return save_figure(fig, path)
