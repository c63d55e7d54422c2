"""Run folders and the long-format leaderboard.

A run is a pure function of its :class:`RunSpec`; its folder is named after the
method, dataset, seed and a hash of the resolved configuration, and holds:

- ``config.yaml``: the full resolved config, seed, versions and device;
- ``status.json``: ``running`` or ``finished``, with the step reached and seconds spent;
- ``checkpoint.pt``, ``log.jsonl`` (training), ``results.json`` (metric results).

The leaderboard is one CSV with one row per (run, space, metric, factor, metric
options), each with its provenance. Appends take a file lock and rewrite the file
atomically, so several processes can append at once and a kill loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from disbench.atomic import atomic_path, write_json, write_yaml
from disbench.errors import DisbenchError

CONFIG = "config.yaml"
STATUS = "status.json"
RESULTS = "results.json"

LEADERBOARD_COLUMNS = [
    "run_id",
    "config_hash",
    "method",
    "dataset",
    "data_source",
    "seed",
    "space",
    "metric",
    "factor",
    "value",
    "higher_is_better",
    "metric_options",
    "n_eval",
    "eval_seed",
    "steps",
    "disbench_version",
    "torch_version",
    "python_version",
    "device",
    "train_seconds",
    "eval_seconds",
    "timestamp",
]


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's numbers (the device is recorded, not hashed)."""

    method: str
    dataset: str
    seed: int
    steps: int
    method_config: dict[str, Any] = field(default_factory=dict)
    dataset_config: dict[str, Any] = field(default_factory=dict)

    def config_hash(self) -> str:
        # the fields as they are (asdict's deep copy cost most of a 5,400-run suite's listing)
        canonical = json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]

    @property
    def run_id(self) -> str:
        return f"{self.method}_{self.dataset}_s{self.seed}_{self.config_hash()}"

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "RunSpec":
        return RunSpec(
            method=data["method"],
            dataset=data["dataset"],
            seed=int(data["seed"]),
            steps=int(data["steps"]),
            method_config=dict(data.get("method_config") or {}),
            dataset_config=dict(data.get("dataset_config") or {}),
        )


def run_dir_for(runs_dir: str | Path, spec: RunSpec) -> Path:
    return Path(runs_dir) / spec.run_id


def write_run_config(run_dir: Path, spec: RunSpec, provenance: dict[str, Any]) -> None:
    data = {"run_id": spec.run_id, "config_hash": spec.config_hash(), **asdict(spec), **provenance}
    write_yaml(run_dir / CONFIG, data)


def read_run_config(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise DisbenchError(f"{str(run_dir)!r} is not a run folder (no {CONFIG}).") from None
    except (OSError, yaml.YAMLError) as exc:
        raise DisbenchError(f"{str(path)!r} is unreadable ({type(exc).__name__}); rerun with --overwrite.") from None
    if not isinstance(data, dict) or not {"method", "dataset", "seed", "steps"} <= set(data):
        raise DisbenchError(f"{str(path)!r} is not a disbench run config; rerun with --overwrite.")
    return data


def read_status(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / STATUS
    if not path.is_file():
        return {"state": "new"}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {"state": "corrupt"}


def write_status(run_dir: Path, **status: Any) -> None:
    write_json(Path(run_dir) / STATUS, {**status, "updated": _now()})


def read_results(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / RESULTS
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise DisbenchError(f"{str(path)!r} is corrupt; delete it and run `disbench eval` again.") from None


def write_results(run_dir: Path, results: dict[str, Any]) -> None:
    write_json(Path(run_dir) / RESULTS, results)


def finished_runs(runs_dir: str | Path) -> Iterator[Path]:
    """Run folders under ``runs_dir`` whose training finished, in name order."""
    root = Path(runs_dir)
    if not root.is_dir():
        return
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if (run_dir / CONFIG).is_file() and read_status(run_dir).get("state") == "finished":
            yield run_dir


# --- leaderboard -----------------------------------------------------------------------


def read_leaderboard(path: str | Path):
    """The leaderboard as a DataFrame, or an empty one; a file without our columns is a DisbenchError."""
    import pandas as pd

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    try:
        frame = pd.read_csv(path, dtype={"metric_options": str, "factor": str, "space": str}, keep_default_na=False)
    except Exception as exc:
        raise DisbenchError(f"leaderboard {str(path)!r} is not a readable CSV ({type(exc).__name__}).") from None
    missing = [c for c in LEADERBOARD_COLUMNS if c not in frame.columns]
    if missing:
        raise DisbenchError(
            f"leaderboard {str(path)!r} lacks columns {', '.join(missing)}; "
            "it was not written by disbench: move it aside or pass another --leaderboard."
        )
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def append_rows(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Append rows to the leaderboard under a file lock, rewriting it atomically. Returns rows added."""
    import pandas as pd
    from filelock import FileLock

    rows = list(rows)
    if not rows:
        return 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = pd.DataFrame(rows)
    for column in LEADERBOARD_COLUMNS:
        if column not in new.columns:
            new[column] = ""
    new = new[LEADERBOARD_COLUMNS]
    with FileLock(str(path) + ".lock"):
        existing = read_leaderboard(path)
        combined = new if existing.empty else pd.concat([existing, new], ignore_index=True)
        with atomic_path(path) as tmp:
            combined.to_csv(tmp, index=False)
    return len(rows)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def timestamp() -> str:
    return _now()
