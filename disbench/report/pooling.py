"""The table: mean ± std over seeds of each (entry, dataset, column), the best of each column marked.

A cell pools only runs that differ in their seed alone. Reference rows (the oracle's upper
bound, the random encoder's lower bound) are shown but never marked best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from disbench.metrics.base import AGGREGATE
from disbench.report.rows import Selection, as_patterns, selected_rows

REFERENCE_METHODS = ("oracle", "random")


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
    """Rows are entries (a method under one configuration); columns are (dataset, metric label)."""

    entries: list[str]
    columns: list[tuple[str, str]]
    higher_is_better: dict[tuple[str, str], bool]
    cells: dict[tuple[str, tuple[str, str]], Cell]
    entry_method: dict[str, str] = field(default_factory=dict)
    #: each column's evaluation protocol (:func:`protocol_text`); a column never pools two
    protocols: dict[tuple[str, str], str] = field(default_factory=dict)

    def protocol_note(self) -> str:
        """One line saying which protocol the scores were computed at, or that columns are split by protocol."""
        used = list(dict.fromkeys(self.protocols[c] for c in self.columns if self.protocols.get(c)))
        if not used:
            return ""
        if len(used) == 1:
            return f"scored at {used[0]}"
        return (
            f"scores at {len(used)} protocols ({'; '.join(used)}) are never pooled: "
            "a metric scored at several gets a column per protocol"
        )

    def header(self, column: tuple[str, str], arrows: bool = True) -> str:
        dataset, metric = column
        arrow = (" ↑" if self.higher_is_better[column] else " ↓") if arrows else ""
        return f"{dataset} / {metric}{arrow}"

    def is_reference(self, entry: str) -> bool:
        return self.entry_method.get(entry, entry) in REFERENCE_METHODS


def _is_true(value: Any) -> bool:
    return str(value).lower() == "true"


def pooled(frame, by: list[str]):
    """Mean, sample std (0 for one seed) and seed count per group; one value per seed."""
    one_per_seed = frame.drop_duplicates(subset=[*by, "seed"], keep="last")
    stats = one_per_seed.groupby(by, sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    stats["std"] = stats["std"].fillna(0.0)
    return stats


def build_report(
    leaderboard: Any = "results/leaderboard.csv",
    methods: list[str] | None = None,
    datasets: list[str] | None = None,
    metrics: list[str] | None = None,
    space: str | Sequence[str] | None = None,
    factor: str | Sequence[str] = AGGREGATE,
    run_ids: list[str] | None = None,
) -> ReportTable:
    """Mean ± std over seeds of each (entry, dataset, metric), best per column marked.

    ``leaderboard`` is a path, a glob or a list of them; ``space`` and ``factor`` are
    names or shell wildcards (a list shows each matching one as its own column).

    Raises:
        DisbenchError: the leaderboard is missing or empty, or nothing matches the filters.
    """
    selection = Selection(leaderboard, methods, datasets, metrics, as_patterns(space) or None, as_patterns(factor), run_ids)
    return table_of_rows(selected_rows(selection))


def table_of_rows(frame) -> ReportTable:
    """The table of :func:`build_report` from report rows already selected (:func:`selected_rows`)."""
    stats = pooled(frame, ["entry", "dataset", "column"])
    direction = frame.groupby(["dataset", "column"])["higher_is_better"].first().map(_is_true)
    protocol_of = frame.groupby(["dataset", "column"])["protocol"].agg(lambda p: "; ".join(sorted(set(p))))
    entry_method = dict(zip(frame["entry"], frame["method"]))

    # methods in order of first appearance, each method's usual configuration (its bare name) first,
    # reference rows last
    methods = list(dict.fromkeys(frame["method"]))
    seen = list(dict.fromkeys(frame["entry"]))
    ordered = sorted(seen, key=lambda e: (entry_method[e] in REFERENCE_METHODS, methods.index(entry_method[e]), e != entry_method[e]))
    entries = ordered
    columns = sorted({(d, c) for d, c in zip(stats["dataset"], stats["column"])})
    higher = {column: bool(direction[column]) for column in columns}
    cells = {
        (row.entry, (row.dataset, row.column)): Cell(float(row["mean"]), float(row["std"]), int(row["count"]))
        for _, row in stats.iterrows()
    }
    table = ReportTable(entries, columns, higher, cells, entry_method, {column: protocol_of[column] for column in columns})
    for column in columns:
        contenders = [cells[(e, column)] for e in entries if not table.is_reference(e) and (e, column) in cells]
        if contenders:
            pick = max if higher[column] else min
            best_value = pick(c.mean for c in contenders)
            for cell in contenders:
                cell.best = math.isclose(cell.mean, best_value, rel_tol=0, abs_tol=1e-12)
    return table
