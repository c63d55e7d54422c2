"""The rows a report pools: leaderboards read, filtered, at the latest checkpoint, one space per run.

Rows are prepared in this order:

1. leaderboards are merged, each score once (:func:`~disbench.report.leaderboards.load_leaderboards`);
2. each run keeps its latest scored checkpoint (``--x steps`` plots use them all);
3. per run the table scores one space: the ones matching ``spaces``, or by default the
   run's headline space (``joint`` when it has several spaces, else its only one);
4. each row gets its ``entry`` (:func:`~disbench.report.naming.assign_entries`) and
   ``column`` (:func:`~disbench.report.naming.column_labels`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Sequence

from disbench.errors import DisbenchError, UsageError
from disbench.metrics.base import AGGREGATE
from disbench.report.leaderboards import latest_checkpoints, leaderboard_paths, load_leaderboards
from disbench.report.naming import assign_entries, column_labels

def as_patterns(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _matches(series, patterns: list[str]):
    return series.map(lambda v: any(fnmatch.fnmatchcase(str(v), p) for p in patterns))



def headline_rows(frame, space: str | Sequence[str] | None = None):
    """Rows of each run's scored space: those matching ``space``, else joint / the only space."""
    patterns = as_patterns(space)
    if patterns:
        return frame[_matches(frame["space"], patterns)]
    if frame.empty:
        return frame
    spaces_per_run = frame.groupby("run_id")["space"].agg(lambda s: set(s))
    headline = {
        run: ("joint" if "joint" in spaces else sorted(spaces)[0]) if len(spaces) > 1 else next(iter(spaces))
        for run, spaces in spaces_per_run.items()
    }
    return frame[frame["space"] == frame["run_id"].map(headline)]


@dataclass
class Selection:
    """What a report is made of: leaderboards and filters (each a list of names; ``None``: all)."""

    leaderboards: Any = "results/leaderboard.csv"
    methods: list[str] | None = None
    datasets: list[str] | None = None
    metrics: list[str] | None = None
    spaces: list[str] | None = None
    factors: list[str] = field(default_factory=lambda: [AGGREGATE])
    run_ids: list[str] | None = None
    all_steps: bool = False


def selected_rows(selection: Selection):
    """The leaderboard rows a report pools, with ``entry`` and ``column`` (metric label) assigned.

    Raises:
        DisbenchError: the leaderboards are missing or empty, or nothing matches the filters.
    """
    frame = load_leaderboards(selection.leaderboards)
    names = ", ".join(repr(str(p)) for p in leaderboard_paths(selection.leaderboards))
    if frame.empty:
        raise DisbenchError(
            f"no results in {names}; make some with `disbench bench --suite quick` "
            "or `disbench train ...` then `disbench eval --metric all`."
        )
    for column, wanted in (("method", selection.methods), ("dataset", selection.datasets), ("run_id", selection.run_ids)):
        if wanted:
            frame = frame[frame[column].isin(wanted)]
    if selection.metrics:
        metrics = list(selection.metrics)
        check_metrics_present(frame, metrics, names)
        frame = frame[frame["metric"].isin(metrics) | frame["metric"].str.split(".").str[0].isin(metrics)]
    frame = frame[_matches(frame["factor"], as_patterns(selection.factors) or [AGGREGATE])]
    if not selection.all_steps:
        frame = latest_checkpoints(frame)
    frame = headline_rows(frame, selection.spaces)
    if frame.empty:
        raise DisbenchError(f"no leaderboard rows in {names} match the filters; drop some filters.")
    frame = assign_entries(frame)
    return frame.assign(column=column_labels(frame, bool(selection.spaces)))


def check_metrics_present(frame, metrics: list[str], names: str) -> None:
    """UsageError for a ``--metric`` that is no metric at all (neither in the leaderboards, as a
    metric or a metric's prefix, nor in the registry), naming the closest metrics the
    leaderboards hold; a real metric they lack is left to the filters' own message."""
    import difflib

    from disbench.metrics.selection import metric_registry

    present = sorted(set(frame["metric"]) | set(frame["metric"].str.split(".").str[0]))
    registered = set(metric_registry())
    for metric in metrics:
        if metric not in present and metric.partition(".")[0] not in registered:
            close = difflib.get_close_matches(metric, present, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UsageError(f"no metric {metric!r} in {names}.{hint} Its metrics: {', '.join(present)}.")
