"""One suite entry: train (or skip, or resume) its run, score it, record what it was scored with; where it stands.

Every entry appends its rows to the leaderboard under the store's file lock, so entries
may run in any order, in any process.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from disbench.store.canonical import canonical_json
from disbench.config import build_config
from disbench.evaluation import EvalSettings
from disbench.suites.suite import Suite, SuiteEntry

#: a run folder's record of the (metrics, options, protocol) a suite entry scored it with
SCORED = "scored.json"
#: entry states, in the order `--status` summarises them
STATES = ("missing", "running", "interrupted", "failed", "unscored", "finished")
#: states a rerun submits again: nothing holds them and they are not done
RESUBMIT_STATES = {"missing", "interrupted", "failed", "unscored"}


@dataclass
class SuiteRunResult:
    run_id: str
    train_status: str
    rows: int


def scoring_key(entry: SuiteEntry) -> str:
    """What a suite entry asks of its run's scores: equal keys mean the same rows."""
    canonical = canonical_json([sorted(entry.metrics), entry.metric_options, entry.eval_settings])
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def run_entry(
    suite: Suite,
    entry: SuiteEntry,
    runs_dir: str | Path,
    leaderboard: str | Path,
    device: str = "auto",
    overwrite: bool = False,
    threads: int | None = None,
    progress: Any = None,
) -> SuiteRunResult:
    """Train (or skip, or resume) one entry and score it; safe in a worker process or an array task."""
    from disbench.training.runs import train_run

    use_threads(threads)
    result = train_run(suite.spec(entry), runs_dir, device, overwrite, progress, label=entry.label)
    return score_entry(suite, entry, result.run_dir, result.status, leaderboard, device, overwrite, progress)


def use_threads(threads: int | None) -> None:
    """Compute on ``threads`` threads (None: leave them), in this fresh worker process."""
    if threads:
        import torch

        torch.set_num_threads(threads)
        # read when numba is first imported (DCI's trees)
        os.environ["NUMBA_NUM_THREADS"] = str(threads)


def score_entry(
    suite: Suite,
    entry: SuiteEntry,
    run_dir: Path,
    train_status: str,
    leaderboard: str | Path,
    device: str = "auto",
    overwrite: bool = False,
    progress: Any = None,
) -> SuiteRunResult:
    """Score the trained run of ``entry`` and record in its folder what the suite scored it with."""
    from disbench.store.atomic import write_json
    from disbench.evaluation import EvalRequest, evaluate_run

    settings = build_config(EvalSettings, entry.eval_settings, f"suite {suite.name!r}, eval section")
    request = EvalRequest(list(entry.metrics), entry.metric_options, leaderboard, settings, device, overwrite, progress=progress)
    outcome = evaluate_run(run_dir, request)
    scored = read_scored(run_dir)
    scored[scoring_key(entry)] = {"suite": suite.name, "metrics": list(entry.metrics), "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_json(run_dir / SCORED, scored)
    return SuiteRunResult(suite.spec(entry).run_id, train_status, outcome.added)


def run_entry_at(suite: Suite, index: int, *args: Any) -> SuiteRunResult:
    return run_entry(suite, suite.entry(index), *args)


def read_scored(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / SCORED
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}  # written atomically, so only a foreign file lands here: score again
    return data if isinstance(data, dict) else {}




@dataclass(frozen=True)
class EntryStatus:
    index: int
    run_id: str
    label: str
    #: one of STATES
    state: str
    #: the cluster job (or ``local:ID``) that last held the run folder
    job_id: str
    step: int | None = None


def entry_status(suite: Suite, entry: SuiteEntry, runs_dir: str | Path, queued_jobs: set[str] | None = None) -> EntryStatus:
    """The entry's state, read from its run folder (status.json and the suite's scoring record)."""
    from disbench.store.jobs import holder_alive
    from disbench.store import read_status, run_dir_for

    spec = suite.spec(entry)
    run_dir = run_dir_for(runs_dir, spec)
    status = read_status(run_dir)
    recorded = status.get("state")
    if recorded == "finished":
        state = "finished" if scoring_key(entry) in read_scored(run_dir) else "unscored"
    elif recorded == "running":
        state = "running" if holder_alive(status, queued_jobs) else "interrupted"
    elif recorded in ("interrupted", "failed"):
        state = recorded
    elif recorded == "corrupt":
        state = "failed"
    else:
        state = "missing"
    step = status.get("step")
    return EntryStatus(entry.index, spec.run_id, entry.label or "", state, str(status.get("job_id") or ""), step)


def suite_status(suite: Suite, runs_dir: str | Path, indices: Sequence[int] | None = None) -> list[EntryStatus]:
    from disbench.store.jobs import slurm_queue

    queued = slurm_queue()
    return [entry_status(suite, entry, runs_dir, queued) for entry in suite.select(indices)]



def pending_indices(statuses: list[EntryStatus], overwrite: bool = False) -> list[int]:
    """Entries a (re)submission runs: every one with ``overwrite``, else those missing or failed."""
    return [s.index for s in statuses if overwrite or s.state in RESUBMIT_STATES]


