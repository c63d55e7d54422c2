"""One suite entry: train (or skip, or resume) its run, score it, record what it was scored with.

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
from typing import Any

from disbench.config import build_config
from disbench.evaluation import EvalSettings

#: a run folder's record of the (metrics, options, protocol) a suite entry scored it with
SCORED = "scored.json"


@dataclass
class SuiteRunResult:
    run_id: str
    train_status: str
    rows: int


def scoring_key(entry: Any) -> str:
    """What a suite entry asks of its run's scores: equal keys mean the same rows."""
    canonical = json.dumps([sorted(entry.metrics), entry.metric_options, entry.eval_settings], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def run_entry(
    suite: Any,
    entry: Any,
    runs_dir: str | Path,
    leaderboard: str | Path,
    device: str = "auto",
    overwrite: bool = False,
    threads: int | None = None,
    progress: Any = None,
) -> SuiteRunResult:
    """Train (or skip, or resume) one entry and score it; safe in a worker process or an array task."""
    from disbench.training.runs import train

    use_threads(threads)
    result = train(suite.spec(entry), runs_dir, device, overwrite, progress, label=entry.label)
    return score_entry(suite, entry, result.run_dir, result.status, leaderboard, device, overwrite, progress)


def use_threads(threads: int | None) -> None:
    """Compute on ``threads`` threads (None: leave them), in this fresh worker process."""
    if threads:
        import torch

        torch.set_num_threads(threads)
        # read when numba is first imported (DCI's trees)
        os.environ["NUMBA_NUM_THREADS"] = str(threads)


def score_entry(
    suite: Any,
    entry: Any,
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


def read_scored(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / SCORED
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}  # written atomically, so only a foreign file lands here: score again
    return data if isinstance(data, dict) else {}
