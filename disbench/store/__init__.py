"""Run folders and the long-format leaderboard.

A run is a pure function of its :class:`RunSpec`; its folder is named after the
method, dataset, seed and a hash of the resolved configuration, and holds:

- ``config.yaml``: the full resolved config, seed, versions and device;
- ``status.json``: ``running`` or ``finished``, with the step reached and seconds spent;
- ``checkpoint.pt``, ``log.jsonl`` (training), ``results.json`` (metric results);
- ``checkpoints/step_N.pt`` and ``checkpoints/step_N.results.json``: the checkpoints kept at
  the ``save_at`` steps (scores over training compute) and their metric results.

The leaderboard is one CSV with one row per (run, space, metric, factor, metric
options, steps, protocol: ``n_eval``, ``n_test``, ``eval_seed``), each with its provenance (:func:`provenance_row`, :func:`score_rows`).
Writes take a file lock and rewrite the file atomically, so several processes can
write at once and a kill loses nothing. A leaderboard that does not parse cleanly is
refused with its line number and never rewritten.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import stat
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from disbench.store.atomic import atomic_path, write_json, write_yaml
from disbench.errors import DisbenchError, UsageError

CONFIG = "config.yaml"
STATUS = "status.json"
RESULTS = "results.json"
#: folder of the checkpoints kept at the ``save_at`` steps, and of their results
KEPT_CHECKPOINTS = "checkpoints"

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
    "n_test",
    "eval_seed",
    "steps",
    "disbench_version",
    "torch_version",
    "python_version",
    "device",
    "train_seconds",
    "eval_seconds",
    "timestamp",
    "label",
    "hyperparameters",
    "parameters",
]

#: the evaluation protocol of a row: scores at another protocol are other results, kept beside it
PROTOCOL_COLUMNS = ("n_eval", "n_test", "eval_seed")
#: a leaderboard row is "the same score" as another when these agree; rescoring replaces it
ROW_KEY = ("run_id", "space", "metric", "factor", "metric_options", "steps", *PROTOCOL_COLUMNS)

#: columns added after the first release: a leaderboard without them reads them as ""
_LATER_COLUMNS = ("n_test", "label", "hyperparameters", "parameters")
_INTEGER_COLUMNS = ("seed", "n_eval", "n_test", "eval_seed", "steps")
_NUMBER_COLUMNS = _INTEGER_COLUMNS + ("train_seconds", "eval_seconds")


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
    write_json(Path(run_dir) / STATUS, {**status, "updated": _now()})


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
    return {json.dumps(space.get("options"), sort_keys=True) for space in (entry.get("spaces") or {}).values()}


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


# --- leaderboard rows: one home for the row schema and its provenance ---------------------


def hyperparameters_json(spec: RunSpec | None) -> str:
    """The ``hyperparameters`` column: canonical JSON of the run's spec minus method, dataset and seed.

    ``"{}"`` for codes files (no spec). Two runs that differ in seed alone have the same value,
    so a report can pool exactly those.
    """
    if spec is None:
        return "{}"
    data = {"method_config": spec.method_config, "dataset_config": spec.dataset_config, "steps": spec.steps}
    return json.dumps(data, sort_keys=True, default=str)


def provenance_row(
    *,
    run_id: str,
    config_hash: str,
    method: str,
    dataset: str,
    data_source: str,
    seed: int,
    steps: int,
    n_eval: int,
    eval_seed: int,
    versions: dict[str, str],
    n_test: int | None = None,
    device: str,
    train_seconds: float,
    label: str,
    hyperparameters: str,
    parameters: int | None = None,
) -> dict[str, Any]:
    """The columns every row of one scored run (or codes file) shares; :func:`score_rows` adds the score.

    ``parameters``: the encoder's parameter count (config.yaml's ``num_parameters``; empty when unknown).
    ``n_test``: the held-out points of the protocol (empty when there were none, e.g. a codes
    file without ``--test-codes``).
    """
    return {
        "run_id": run_id,
        "config_hash": config_hash,
        "method": method,
        "dataset": dataset,
        "data_source": data_source,
        "seed": int(seed),
        "n_eval": int(n_eval),
        "n_test": "" if n_test is None else int(n_test),
        "eval_seed": int(eval_seed),
        "steps": int(steps),
        "disbench_version": versions.get("disbench", ""),
        "torch_version": versions.get("torch", ""),
        "python_version": versions.get("python", ""),
        "device": device,
        "train_seconds": round(float(train_seconds), 3),
        "label": label,
        "hyperparameters": hyperparameters,
        "parameters": "" if parameters is None else int(parameters),
    }


def score_rows(
    provenance: dict[str, Any],
    space: str,
    scores: Iterable[Any],
    higher_is_better: bool,
    metric_options: str,
    seconds: float,
) -> list[dict[str, Any]]:
    """Leaderboard rows of one metric on one space.

    Args:
        provenance: from :func:`provenance_row`.
        space: the scored space.
        scores: :class:`~disbench.metrics.base.Score` objects, or dicts with the same keys
            (a results.json entry).
        higher_is_better: the metric's direction, unless a score carries its own.
        metric_options: canonical JSON of the resolved options.
        seconds: time the metric took on this space.
    """
    rows = []
    for score in scores:
        fields = score if isinstance(score, dict) else asdict(score)
        own_direction = fields.get("higher_is_better")
        rows.append(
            {
                **provenance,
                "space": space,
                "metric": fields["metric"],
                "factor": fields.get("factor", "all"),
                "value": float(fields["value"]),
                "higher_is_better": higher_is_better if own_direction is None else bool(own_direction),
                "metric_options": metric_options,
                "eval_seconds": round(float(seconds), 4),
                "timestamp": timestamp(),
            }
        )
    return rows


# --- leaderboard file --------------------------------------------------------------------


def _refuse(path: Path, line: int, problem: str) -> DisbenchError:
    return DisbenchError(
        f"leaderboard {str(path)!r} line {line}: {problem}; fix or delete that line "
        "(disbench never rewrites a leaderboard it cannot read)."
    )


def _read_records(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and records of a leaderboard as strings, every record checked; DisbenchError on the first bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DisbenchError(f"leaderboard {str(path)!r} is not a text CSV file; move it aside or pass another --leaderboard.") from None
    except OSError as exc:
        raise DisbenchError(f"leaderboard {str(path)!r} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, [])
        missing = [c for c in LEADERBOARD_COLUMNS if c not in header and c not in _LATER_COLUMNS]
        if missing:
            raise DisbenchError(
                f"leaderboard {str(path)!r} lacks columns {', '.join(missing)}; "
                "it was not written by disbench: move it aside or pass another --leaderboard."
            )
        index = {name: i for i, name in enumerate(header)}
        records = []
        line = reader.line_num
        for record in reader:
            if record:
                _check_record(path, line + 1, record, header, index)
                records.append(record)
            line = reader.line_num
    except csv.Error as exc:
        raise _refuse(path, reader.line_num, f"not valid CSV ({exc})") from None
    return header, records


def _check_record(path: Path, line: int, record: list[str], header: list[str], index: dict[str, int]) -> None:
    if len(record) != len(header):
        raise _refuse(path, line, f"{len(record)} fields where the header has {len(header)}")
    value = record[index["value"]]
    try:
        float(value)
    except ValueError:
        raise _refuse(path, line, f"value {value!r} is not a number") from None
    for column in _NUMBER_COLUMNS:
        if column not in index:  # a column added later, which an older file lacks
            continue
        cell = record[index[column]]
        try:
            number = float(cell) if cell else 0.0
        except ValueError:
            raise _refuse(path, line, f"{column} {cell!r} is not a number") from None
        if column in _INTEGER_COLUMNS and not number.is_integer():
            raise _refuse(path, line, f"{column} {cell!r} is not an integer")
    direction = record[index["higher_is_better"]]
    if direction not in ("True", "False", "true", "false", ""):
        raise _refuse(path, line, f"higher_is_better {direction!r} is not True or False")


def _aligned(header: list[str], records: list[list[str]]) -> list[list[str]]:
    """Records in the order of LEADERBOARD_COLUMNS; columns an older file lacks are empty."""
    index = {name: i for i, name in enumerate(header)}
    return [[record[index[c]] if c in index else "" for c in LEADERBOARD_COLUMNS] for record in records]


def _refuse_a_folder(path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"leaderboard {str(path)!r} is a folder; give the CSV file (e.g. {str(path / 'leaderboard.csv')!r}).")


def read_leaderboard(path: str | Path):
    """The leaderboard as a DataFrame (empty if the file is missing).

    Raises:
        DisbenchError: the file lacks our columns, or a line does not parse (wrong number of
            fields, a value that is not a number, ...), naming the file and the line.
        UsageError: the path is a folder.
    """
    import pandas as pd

    path = Path(path)
    _refuse_a_folder(path)
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    header, records = _read_records(path)
    frame = pd.DataFrame(_aligned(header, records), columns=LEADERBOARD_COLUMNS, dtype=object)
    frame["value"] = frame["value"].astype(float)
    for column in _NUMBER_COLUMNS:
        numbers = pd.to_numeric(frame[column])
        if column in _INTEGER_COLUMNS:
            numbers = numbers.astype("Int64") if numbers.isna().any() else numbers.astype("int64")
        frame[column] = numbers
    return frame


def _cell(value: Any) -> str:
    """How a row value is written: floats in their shortest exact form, None as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    return str(value)


_KEY_POSITIONS = [LEADERBOARD_COLUMNS.index(c) for c in ROW_KEY]
_INTEGER_POSITIONS = {LEADERBOARD_COLUMNS.index(c) for c in _INTEGER_COLUMNS}


def _row_key(cells: list[str]) -> tuple[str, ...]:
    # an older writer may have written the step as "1000.0"
    return tuple(_integer_text(cells[i]) if i in _INTEGER_POSITIONS else cells[i] for i in _KEY_POSITIONS)


def _integer_text(cell: str) -> str:
    try:
        return str(int(float(cell)))
    except (ValueError, OverflowError):
        return cell


@dataclass
class WriteSummary:
    """What one leaderboard write did."""

    added: int = 0
    #: earlier rows of the same (run, space, metric, factor, options, steps, protocol) that were replaced
    replaced: int = 0
    #: rows not written because the leaderboard already had them (``mode="missing"``)
    present: int = 0


def check_leaderboard_writable(path: str | Path) -> None:
    """Refuse, in one line and before any work, a leaderboard that cannot be written.

    A folder, a file without write permission (a read-only leaderboard is never replaced),
    and a place where its lock file cannot be made (``/proc``, a read-only or missing
    mount) are usage errors; without this check the lock would be polled forever.
    """
    path = Path(path)
    _refuse_a_folder(path)
    if path.is_file() and not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise UsageError(
            f"leaderboard {str(path)!r} is read-only (mode {stat.S_IMODE(path.stat().st_mode):o}) and is not replaced; "
            "make it writable (chmod u+w) or pass another --leaderboard."
        )
    lock = _lock_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(lock, os.O_RDWR | os.O_CREAT, 0o666))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"leaderboard {str(path)!r} cannot be written: its lock file {lock!r} cannot be made ({reason}); "
            "pass --leaderboard in a folder you can write to."
        ) from None


def _lock_path(path: Path) -> str:
    return str(path) + ".lock"


def write_rows(path: str | Path, rows: Iterable[dict[str, Any]], mode: str = "replace") -> WriteSummary:
    """Write rows to the leaderboard under a file lock, rewriting it atomically.

    Args:
        path: the leaderboard CSV (created with its folder if missing).
        rows: row dicts (:func:`score_rows`); missing columns are written empty.
        mode: ``"replace"``: earlier rows with the same :data:`ROW_KEY` are dropped (a rescore);
            ``"missing"``: only rows whose key is not in the file yet are added (filling a
            leaderboard from results.json); ``"append"``: every row is added.

    Raises:
        DisbenchError: the existing file does not parse (it is left untouched).
        UsageError: the leaderboard cannot be written (:func:`check_leaderboard_writable`).
    """
    from filelock import FileLock

    if mode not in ("replace", "missing", "append"):
        raise ValueError(f"unknown write mode {mode!r}")
    new = [[_cell(row.get(c, "")) for c in LEADERBOARD_COLUMNS] for row in rows]
    summary = WriteSummary()
    if not new:
        return summary
    path = Path(path)
    check_leaderboard_writable(path)
    with FileLock(_lock_path(path)):
        existing: list[list[str]] = []
        if path.is_file() and path.stat().st_size > 0:
            existing = _aligned(*_read_records(path))
        new_keys = {_row_key(cells) for cells in new}
        if mode == "replace":
            kept = [cells for cells in existing if _row_key(cells) not in new_keys]
            summary.replaced = len(existing) - len(kept)
            existing = kept
        elif mode == "missing":
            present = {_row_key(cells) for cells in existing}
            summary.present = sum(_row_key(cells) in present for cells in new)
            new = [cells for cells in new if _row_key(cells) not in present]
        summary.added = len(new)
        if new or summary.replaced:
            with atomic_path(path) as tmp:
                with open(tmp, "w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(LEADERBOARD_COLUMNS)
                    writer.writerows(existing + new)
    return summary


def append_rows(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Add every row (no replacement); returns the number added."""
    return write_rows(path, rows, mode="append").added


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def timestamp() -> str:
    return _now()
