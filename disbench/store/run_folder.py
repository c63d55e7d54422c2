"""A run's folder: what it was (config.yaml), how far it got (status.json), what it scored.

A run is a pure function of its :class:`~disbench.store.run_spec.RunSpec`; its folder is
named after the method, dataset, seed and a hash of the resolved configuration, and holds:

- ``config.yaml``: the full resolved config, seed, versions and device;
- ``status.json``: ``running`` or ``finished``, with the step reached and seconds spent;
- ``checkpoint.pt``, ``log.jsonl`` (training), ``results.json`` (metric results);
- ``checkpoints/step_N.pt`` and ``checkpoints/step_N.results.json``: the checkpoints kept at
  the ``save_at`` steps (scores over training compute) and their metric results;
- ``rows.csv``: the run's leaderboard rows (:mod:`disbench.store.leaderboard_file`), from
  which a leaderboard can be rebuilt.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

import yaml

from disbench.errors import DisbenchError, UsageError
from disbench.store.atomic import write_json, write_yaml
from disbench.store.canonical import canonical_json
from disbench.store.run_spec import RunSpec

CONFIG = "config.yaml"
STATUS = "status.json"
RESULTS = "results.json"
#: folder of the checkpoints kept at the ``save_at`` steps, and of their results
KEPT_CHECKPOINTS = "checkpoints"
#: the run's own leaderboard rows, every leaderboard it was scored into merged
RUN_ROWS = "rows.csv"

def run_dir_for(runs_dir: str | Path, spec: RunSpec) -> Path:
    return Path(runs_dir) / spec.run_id


def write_run_config(run_dir: Path, spec: RunSpec, provenance: dict[str, Any]) -> None:
    data = {"run_id": spec.run_id, "config_hash": spec.config_hash(), **asdict(spec), **provenance}
    write_yaml(run_dir / CONFIG, data)


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """A run folder's config.yaml.

    Raises:
        UsageError: ``run_dir`` is not a run folder: missing, a file, or a folder of runs.
        DisbenchError: its config.yaml is unreadable.
    """
    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    if not run_dir.is_dir():
        what = "is a file" if run_dir.exists() else "does not exist"
        raise UsageError(f"{str(run_dir)!r} {what}; give a run folder (one under runs/, holding {CONFIG}).")
    if not path.is_file():
        if any((child / CONFIG).is_file() for child in run_dir.iterdir() if child.is_dir()):
            raise UsageError(
                f"{str(run_dir)!r} is a folder of runs, not a run folder; pass --runs-dir {str(run_dir)!r} "
                "for all of them, or one of the run folders inside."
            )
        raise UsageError(f"{str(run_dir)!r} is not a run folder (no {CONFIG}); give a folder under runs/.")
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise DisbenchError(f"{str(run_dir)!r} is not a run folder (no {CONFIG}).") from None
    except (OSError, yaml.YAMLError) as exc:
        raise DisbenchError(f"{str(path)!r} is unreadable ({type(exc).__name__}); rerun with --overwrite.") from None
    if not isinstance(data, dict) or not {"method", "dataset", "seed", "steps"} <= set(data):
        raise DisbenchError(f"{str(path)!r} is not a disbench run config; rerun with --overwrite.")
    return data


#: the state :func:`read_status` gives a status.json it cannot read
CORRUPT_STATUS = "corrupt"


def read_status(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / STATUS
    if not path.is_file():
        return {"state": "new"}
    try:
        status = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {"state": CORRUPT_STATUS}
    return status if isinstance(status, dict) else {"state": CORRUPT_STATUS}


def corrupt_status_message(run_dir: Path) -> str:
    return (
        f"{str(Path(run_dir) / STATUS)!r} is corrupt, so whether run {Path(run_dir).name!r} finished is unknown; "
        "rerun its `disbench train` command (it resumes from the checkpoint and rewrites the status), "
        "or add --overwrite to train it afresh."
    )


def write_status(run_dir: Path, **status: Any) -> None:
    write_json(Path(run_dir) / STATUS, {**status, "updated": timestamp()})


def kept_checkpoint(run_dir: str | Path, step: int) -> Path:
    """Where the checkpoint of ``step`` kept by ``save_at`` lives."""
    return Path(run_dir) / KEPT_CHECKPOINTS / f"step_{int(step)}.pt"


def kept_steps(run_dir: str | Path) -> list[int]:
    """Steps of the checkpoints a run kept (``save_at``), in increasing order."""
    folder = Path(run_dir) / KEPT_CHECKPOINTS
    if not folder.is_dir():
        return []
    steps = []
    for path in folder.glob("step_*.pt"):
        number = path.stem[len("step_"):]
        if number.isdigit():
            steps.append(int(number))
    return sorted(steps)


def results_path(run_dir: str | Path, step: int | None = None) -> Path:
    """results.json of the final checkpoint, or ``checkpoints/step_N.results.json`` of a kept one."""
    if step is None:
        return Path(run_dir) / RESULTS
    return Path(run_dir) / KEPT_CHECKPOINTS / f"step_{int(step)}.results.json"


def read_results(run_dir: Path, step: int | None = None) -> dict[str, Any]:
    path = results_path(run_dir, step)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise DisbenchError(f"{str(path)!r} is corrupt; delete it and run `disbench eval` again.") from None


def write_results(run_dir: Path, results: dict[str, Any], step: int | None = None) -> None:
    write_json(results_path(run_dir, step), results)


# --- results.json entries: one per metric, protocol and options ---------------------------
#
# results.json maps each metric to a list of entries ``{"protocol": {...}, "spaces": {space:
# {"options", "scores", "details", "seconds"}}}``, one per (protocol, options) it was scored
# at; a file written before several protocols were kept holds a single entry (a mapping).


def metric_entries(results: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    """Every entry of ``metric`` in a run's results (any protocol and options), oldest first."""
    value = results.get(metric)
    if not value:
        return []
    return [dict(value)] if isinstance(value, dict) else [dict(entry) for entry in value]


def _entry_options(entry: dict[str, Any]) -> set[str]:
    return {canonical_json(space.get("options")) for space in (entry.get("spaces") or {}).values()}


def find_entry(results: dict[str, Any], metric: str, protocol: dict[str, Any], options: str) -> dict[str, Any] | None:
    """The entry of ``metric`` scored at ``protocol`` with ``options`` (canonical JSON) on every space, or None."""
    for entry in metric_entries(results, metric):
        if entry.get("protocol") == protocol and entry.get("spaces") and _entry_options(entry) == {options}:
            return entry
    return None


def put_entry(results: dict[str, Any], metric: str, entry: dict[str, Any]) -> None:
    """Record ``entry`` in ``results``, replacing only the entry of the same protocol and options."""
    same = lambda other: other.get("protocol") == entry["protocol"] and _entry_options(other) == _entry_options(entry)  # noqa: E731
    results[metric] = [other for other in metric_entries(results, metric) if not same(other)] + [entry]


def finished_runs(runs_dir: str | Path) -> Iterator[Path]:
    """Run folders under ``runs_dir`` whose training finished, in name order."""
    root = Path(runs_dir)
    if not root.is_dir():
        return
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if not (run_dir / CONFIG).is_file():
            continue
        state = read_status(run_dir).get("state")
        if state == CORRUPT_STATUS:
            raise DisbenchError(corrupt_status_message(run_dir))
        if state == "finished":
            yield run_dir



def timestamp() -> str:
    """Local time with its UTC offset, as status.json and leaderboard rows record it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
