"""Pivot the long leaderboard into method x (dataset, metric) tables of mean ± std over seeds.

Per run the table scores one space: the one named by ``space``, or by default the
run's headline space (``joint`` when it has several spaces, else its only one).
Reference rows (the oracle's upper bound, the random encoder's lower bound) are
shown but never marked best.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disbench.errors import DisbenchError, UsageError
from disbench.metrics.base import AGGREGATE
from disbench.store import read_leaderboard

REFERENCE_METHODS = ("oracle", "random")
FORMATS = ("table", "md", "csv", "latex", "json")


@dataclass
class Cell:
    mean: float
    std: float
    n: int
    best: bool = False

    def text(self, digits: int = 3) -> str:
        if self.n > 1:
            return f"{self.mean:.{digits}f} ± {self.std:.{digits}f} ({self.n})"
        return f"{self.mean:.{digits}f} (1)"


@dataclass
class ReportTable:
    """Rows are methods; columns are (dataset, metric label) with a direction."""

    methods: list[str]
    columns: list[tuple[str, str]]
    higher_is_better: dict[tuple[str, str], bool]
    cells: dict[tuple[str, tuple[str, str]], Cell]

    def header(self, column: tuple[str, str], arrows: bool = True) -> str:
        dataset, metric = column
        arrow = (" ↑" if self.higher_is_better[column] else " ↓") if arrows else ""
        return f"{dataset} / {metric}{arrow}"


def _metric_labels(frame) -> Any:
    """Label each row's metric; metrics scored under several option sets get the differing options appended."""
    labels = frame["metric"].copy()
    for metric, group in frame.groupby("metric"):
        variants = group["metric_options"].unique()
        if len(variants) < 2:
            continue
        parsed = {v: json.loads(v) if v else {} for v in variants}
        keys = sorted({k for p in parsed.values() for k in p if len({json.dumps(q.get(k)) for q in parsed.values()}) > 1})
        for variant, options in parsed.items():
            suffix = ",".join(f"{k}={options.get(k)}" for k in keys)
            labels[(frame["metric"] == metric) & (frame["metric_options"] == variant)] = f"{metric}[{suffix}]"
    return labels


def headline_rows(frame, space: str | None):
    """Rows of each run's scored space: ``space`` if given, else joint / the only space."""
    if space:
        return frame[frame["space"] == space]
    spaces_per_run = frame.groupby("run_id")["space"].agg(lambda s: set(s))
    headline = {
        run: ("joint" if "joint" in spaces else sorted(spaces)[0]) if len(spaces) > 1 else next(iter(spaces))
        for run, spaces in spaces_per_run.items()
    }
    return frame[frame["space"] == frame["run_id"].map(headline)]


def build_report(
    leaderboard: str | Path,
    methods: list[str] | None = None,
    datasets: list[str] | None = None,
    metrics: list[str] | None = None,
    space: str | None = None,
    factor: str = AGGREGATE,
    run_ids: list[str] | None = None,
) -> ReportTable:
    """Mean ± std over seeds of each (method, dataset, metric), best per column marked.

    Raises:
        DisbenchError: the leaderboard is missing or empty, or nothing matches the filters.
    """
    path = Path(leaderboard)
    frame = read_leaderboard(path)
    if frame.empty:
        raise DisbenchError(
            f"no results in {str(path)!r}; make some with `disbench bench --suite quick` "
            "or `disbench train ...` then `disbench eval --metric all`."
        )
    for column, wanted in (("method", methods), ("dataset", datasets), ("run_id", run_ids)):
        if wanted:
            frame = frame[frame[column].isin(wanted)]
    if metrics:
        frame = frame[frame["metric"].isin(metrics) | frame["metric"].str.split(".").str[0].isin(metrics)]
    frame = frame[frame["factor"] == factor]
    frame = headline_rows(frame, space)
    if frame.empty:
        raise DisbenchError(f"no leaderboard rows in {str(path)!r} match the filters; drop some filters.")
    # a re-evaluated run appends new rows: its latest value counts once
    frame = frame.drop_duplicates(subset=["run_id", "space", "metric", "factor", "metric_options"], keep="last")
    frame = frame.assign(label=_metric_labels(frame))
    grouped = frame.groupby(["method", "dataset", "label"])
    stats = grouped["value"].agg(["mean", "std", "count"]).reset_index()
    direction = grouped["higher_is_better"].first().map(lambda v: str(v).lower() == "true")

    method_order = [m for m in dict.fromkeys(frame["method"]) if m not in REFERENCE_METHODS]
    method_order += [m for m in REFERENCE_METHODS if m in set(frame["method"])]
    columns = sorted({(d, lab) for d, lab in zip(stats["dataset"], stats["label"])})
    higher = {(d, lab): bool(direction[(m, d, lab)]) for m, d, lab in grouped.groups}
    cells = {}
    for row in stats.itertuples(index=False):
        std = 0.0 if math.isnan(row.std) else float(row.std)
        cells[(row.method, (row.dataset, row.label))] = Cell(float(row.mean), std, int(row.count))
    for column in columns:
        contenders = [(m, cells[(m, column)]) for m in method_order if m not in REFERENCE_METHODS and (m, column) in cells]
        if contenders:
            pick = max if higher[column] else min
            best_value = pick(c.mean for _, c in contenders)
            for _, cell in contenders:
                cell.best = math.isclose(cell.mean, best_value, rel_tol=0, abs_tol=1e-12)
    return ReportTable(method_order, columns, higher, cells)


def _text(table: ReportTable, method: str, column: tuple[str, str], bold: tuple[str, str]) -> str:
    cell = table.cells.get((method, column))
    if cell is None:
        return "–"
    return f"{bold[0]}{cell.text()}{bold[1]}" if cell.best else cell.text()


def render(table: ReportTable, fmt: str) -> str:
    """The table as ``md``, ``csv``, ``latex`` or ``json`` text (``table`` is drawn by the CLI with Rich)."""
    if fmt == "md":
        headers = ["method", *(table.header(c) for c in table.columns)]
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for method in table.methods:
            name = f"*{method}* (reference)" if method in REFERENCE_METHODS else method
            lines.append("| " + " | ".join([name, *(_text(table, method, c, ("**", "**")) for c in table.columns)]) + " |")
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        spec = "l" + "c" * len(table.columns)
        lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule"]
        headers = ["method", *(table.header(c).replace("↑", "$\\uparrow$").replace("↓", "$\\downarrow$") for c in table.columns)]
        lines.append(" & ".join(h.replace("_", "\\_") for h in headers) + " \\\\")
        lines.append("\\midrule")
        for method in table.methods:
            texts = [_text(table, method, c, ("\\textbf{", "}")).replace("±", "$\\pm$") for c in table.columns]
            lines.append(" & ".join([method, *texts]) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    if fmt in ("csv", "json"):
        records = []
        for method in table.methods:
            for column in table.columns:
                cell = table.cells.get((method, column))
                if cell is not None:
                    records.append(
                        {
                            "method": method,
                            "dataset": column[0],
                            "metric": column[1],
                            "mean": cell.mean,
                            "std": cell.std,
                            "n_seeds": cell.n,
                            "higher_is_better": table.higher_is_better[column],
                            "best": cell.best,
                        }
                    )
        if fmt == "json":
            return json.dumps(records, indent=2) + "\n"
        import pandas as pd

        return pd.DataFrame(records).to_csv(index=False)
    raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
