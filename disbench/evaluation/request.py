"""What an evaluation computes, and what it reports: the request, the protocol, the outcome of a run.

:class:`EvalRequest` says what to compute and where to write it; :class:`EvalSettings`
is the protocol (disentanglement_lib's: 10,000 points, 5,000 held out, seed 0);
:class:`EvalOutcome` is what scoring one run or codes file did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbench.errors import DisbenchError, UsageError
from disbench.metrics.base import RunGroupMetric
from disbench.metrics.selection import metric_registry, resolve_metric_names, resolve_metric_options
from disbench.progress import Progress

#: the protocol's held-out points at most (disentanglement_lib: 5,000)
PROTOCOL_N_TEST = 5_000

#: reasons a metric is skipped without being a failure
ALREADY_SCORED = "already scored"
GROUP_METRIC_ALONE = "scores the seeds of a configuration together: run `disbench eval` over the runs folder"


@dataclass
class EvalSettings:
    """The evaluation protocol: how many points, which seed, how they are encoded.

    Attributes:
        n_eval: evaluation points drawn per run (dlib: 10,000).
        n_test: held-out points for metrics that fit a predictor (dlib: 5,000); None:
            half of ``n_eval``, at most 5,000.
        eval_seed: seed of the points and the metrics.
        batch_size: observations rendered and encoded at once (bounds memory).
    """

    n_eval: int = 10_000
    n_test: int | None = None
    eval_seed: int = 0
    batch_size: int = 1_000

    def __post_init__(self) -> None:
        if self.n_eval < 2:
            raise UsageError(f"--n-eval must be at least 2, got {self.n_eval}.")
        if self.n_test is None:
            self.n_test = min(PROTOCOL_N_TEST, self.n_eval // 2)
        if self.n_test < 1:
            raise UsageError(
                f"--n-test must be at least 1, got {self.n_test}: the metrics that fit a predictor "
                "(sap, dci, r2, ...) score held-out points; omit --n-test for half of --n-eval."
            )

    def budget(self) -> dict[str, int]:
        """The budget the metrics' ``budget`` options follow (:mod:`disbench.metrics.selection`)."""
        return {"n_eval": self.n_eval, "n_test": int(self.n_test)}


@dataclass
class EvalRequest:
    """What to compute and where to write it; shared by every function of this module.

    Attributes:
        metrics: metric names; ``["all"]`` for every metric that applies.
        overrides: ``{"METRIC.OPTION": value}`` from ``--set``.
        leaderboard: the CSV the rows go to.
        settings: the evaluation protocol.
        device: ``auto``, ``cpu`` or ``cuda`` for encoding.
        overwrite: score again what results.json already holds (its rows are replaced).
        keep_going: when a run fails, score the others and report the failure at the end.
        progress: the CLI's progress hook (none in tests).
    """

    metrics: list[str] = field(default_factory=lambda: ["all"])
    overrides: dict[str, Any] = field(default_factory=dict)
    leaderboard: str | Path = "results/leaderboard.csv"
    settings: EvalSettings = field(default_factory=EvalSettings)
    device: str = "auto"
    overwrite: bool = False
    keep_going: bool = False
    progress: Progress | None = None

    def resolve(self, codes_only: bool) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """``({metric: options}, skipped)``; UsageError for a bad name or option, before any work."""
        names, skipped = resolve_metric_names(list(self.metrics), codes_only)
        budget = None if codes_only else self.settings.budget()
        return resolve_metric_options(names, dict(self.overrides), budget), skipped


@dataclass
class EvalOutcome:
    """What scoring one run (or codes file) did."""

    run_id: str
    #: this run's rows of the requested metrics (computed now, or taken from results.json)
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: rows added to the leaderboard (a leaderboard that had a row already is not written twice)
    added: int = 0
    #: metrics computed now
    computed: list[str] = field(default_factory=list)
    #: metrics taken from results.json
    reused: list[str] = field(default_factory=list)
    #: earlier leaderboard rows replaced by a rescore
    replaced: int = 0
    #: (metric, reason) for metrics that were not computed
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    #: why this run failed (with ``keep_going``); None when it did not
    error: str | None = None
    exit_code: int = 0
    #: what a reader of the scores should know about the run (e.g. it trained collapsed)
    notes: list[str] = field(default_factory=list)


class RunFailed(DisbenchError):
    """Scoring one run of several failed; the message says which and what was written before."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

def split_group_metrics(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` split into metrics scored run by run and run-group metrics, scored per configuration group."""
    registry = metric_registry()
    per_group = {name: o for name, o in options.items() if isinstance(registry.get(name), RunGroupMetric)}
    return {name: o for name, o in options.items() if name not in per_group}, per_group


def skip_summary(outcomes: list[EvalOutcome]) -> str | None:
    """One line for every metric skipped across ``outcomes``: which, how often, and the first reason."""
    by_metric: dict[str, tuple[int, str]] = {}
    for outcome in outcomes:
        for metric, reason in outcome.skipped:
            count, first = by_metric.get(metric, (0, reason))
            by_metric[metric] = (count + 1, first)
    if not by_metric:
        return None
    parts = []
    for metric, (count, reason) in by_metric.items():
        times = "" if count == 1 else f" {count} times"
        parts.append(f"{metric} skipped{times} ({reason.rstrip('.')})")
    return "; ".join(parts) + "."
