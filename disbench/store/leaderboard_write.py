"""Writing leaderboards: rows appended under a file lock, each run's rows also kept in its folder.

A write adds lines to the end of the file in one ``write`` under the file's lock, so
several processes (a Slurm array) can write at once and none loses a row, and the cost of a
write follows the rows written, not the size of the leaderboard: the file is never rewritten.
To know which of its rows a leaderboard already holds, a write reads only the lines of the
runs it writes (found by their run id at the start of a line).

Beside the file, ``<leaderboard>.checked`` records the size and modification time the file
had after the last disbench write. When they still match, the file holds only lines disbench
checked; otherwise (an edit by hand, a copy, a killed writer) the whole file is checked once
before the next write, so a leaderboard that does not parse is refused, never written to.

Each run's rows are also kept in its folder (``rows.csv``, rewritten atomically, same format);
:func:`rebuild_leaderboard` merges those and any other leaderboards into a new file.
"""

from __future__ import annotations

import csv
import io
import json
import mmap
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from disbench.errors import DisbenchError, UsageError
from disbench.store.atomic import atomic_path, write_json
from disbench.store.leaderboard import LEADERBOARD_COLUMNS, cells_key, row_cells
from disbench.store.leaderboard_file import (
    header_of,
    leaderboard_table,
    read_bytes,
    refuse_a_folder,
)
from disbench.store.run_folder import RUN_ROWS

MODES = ("replace", "missing", "append")
#: beyond this many runs in one write, the file's rows are read whole instead of searched run by run
_RUNS_SEARCHED = 8


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

    A folder, a file without write permission (a read-only leaderboard is never written to),
    and a place where its lock file cannot be made (``/proc``, a read-only or missing
    mount) are usage errors; without this check the lock would be polled forever.
    """
    path = Path(path)
    refuse_a_folder(path)
    if path.is_file() and not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise UsageError(
            f"leaderboard {str(path)!r} is read-only (mode {stat.S_IMODE(path.stat().st_mode):o}) and is not written to; "
            "make it writable (chmod u+w) or pass another --leaderboard."
        )
    lock = lock_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(lock, os.O_RDWR | os.O_CREAT, 0o666))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"leaderboard {str(path)!r} cannot be written: its lock file {lock!r} cannot be made ({reason}); "
            "pass --leaderboard in a folder you can write to."
        ) from None


def lock_path(path: Path) -> str:
    return str(path) + ".lock"


def _checked_path(path: Path) -> Path:
    return path.with_name(path.name + ".checked")


def _fingerprint(path: Path) -> dict[str, int]:
    state = path.stat()
    return {"size": state.st_size, "mtime_ns": state.st_mtime_ns, "inode": state.st_ino}


def _known_good(path: Path) -> bool:
    """Whether the file is as the last disbench write left it (so every line was checked)."""
    try:
        return json.loads(_checked_path(path).read_text()) == _fingerprint(path)
    except (OSError, ValueError):
        return False


def _checked_header(path: Path) -> list[str]:
    """The file's header; unless the file is as disbench left it, every line is checked first."""
    if _known_good(path):
        with open(path, "rb") as handle:
            head = handle.readline()
        return header_of(path, head)
    raw = read_bytes(path)
    leaderboard_table(path, raw)  # raises on the first bad line
    return header_of(path, raw)


def _csv_lines(records: Iterable[list[str]]) -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text).writerows(records)
    return text.getvalue().encode("utf-8")


def _rows_of_runs(path: Path, raw_header: list[str], run_ids: set[str]) -> list[dict[str, str]]:
    """The file's rows of ``run_ids`` as text cells by column name (a score may appear twice)."""
    if raw_header[:1] == ["run_id"] and len(run_ids) <= _RUNS_SEARCHED:
        lines = []
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            for run_id in run_ids:
                needle = b"\n" + _csv_lines([[run_id, ""]])[:-3] + b","  # the run id's cell, as a line starts
                start = data.find(needle)
                while start >= 0:
                    end = data.find(b"\n", start + 1)
                    lines.append(data[start + 1 : end + 1])
                    start = data.find(needle, end)
        records = list(csv.reader(io.StringIO(b"".join(lines).decode("utf-8"), newline="")))
        if all(len(record) == len(raw_header) for record in records) and len(records) == len(lines):
            return [dict(zip(raw_header, record)) for record in records]
    # a run id not first, or a line holding a line end inside quotes: read the whole file
    table = leaderboard_table(path, read_bytes(path))
    table = table[table["run_id"].isin(run_ids)]
    return table.to_dict("records")


def _append(path: Path, data: bytes) -> None:
    """Add ``data`` at the end of the file in one write; on failure the file is cut back to its old end."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            while written < len(data):  # a short write (a full disk, a signal): finish or undo
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def write_rows(
    path: str | Path, rows: Iterable[dict[str, Any]], mode: str = "replace", run_dir: str | Path | None = None
) -> WriteSummary:
    """Add rows to the leaderboard under its file lock, appending them in one write.

    Args:
        path: the leaderboard CSV (created with its folder if missing).
        rows: row dicts (:func:`~disbench.store.leaderboard.score_rows`); missing columns are written empty.
        mode: ``"replace"``: the rows replace earlier rows with the same :data:`ROW_KEY` (a
            rescore; the earlier lines stay in the file and readers take the latest);
            ``"missing"``: only rows whose key is not in the file yet are added (filling a
            leaderboard from results.json); ``"append"``: every row is added.
        run_dir: the run folder the rows belong to; they are recorded in its ``rows.csv`` first.

    Raises:
        DisbenchError: the existing file does not parse (it is left untouched).
        UsageError: the leaderboard cannot be written (:func:`check_leaderboard_writable`).
    """
    from filelock import FileLock

    if mode not in MODES:
        raise ValueError(f"unknown write mode {mode!r}")
    rows = list(rows)
    summary = WriteSummary()
    if not rows:
        return summary
    if run_dir is not None:
        record_run_rows(run_dir, rows, mode)
    new = [row_cells(row) for row in rows]
    path = Path(path)
    check_leaderboard_writable(path)
    with FileLock(lock_path(path)):
        if not path.is_file() or path.stat().st_size == 0:
            with atomic_path(path) as tmp:
                tmp.write_bytes(_csv_lines([LEADERBOARD_COLUMNS] + new))
            summary.added = len(new)
        else:
            header = _checked_header(path)
            if [c for c in LEADERBOARD_COLUMNS if c not in header]:
                header = _add_later_columns(path)
            present = {cells_key(cells) for cells in _rows_of_runs(path, header, {cells[0] for cells in new})}
            keys = [cells_key(dict(zip(LEADERBOARD_COLUMNS, cells))) for cells in new]
            if mode == "replace":
                summary.replaced = len(present & set(keys))
            elif mode == "missing":
                summary.present = sum(key in present for key in keys)
                new = [cells for key, cells in zip(keys, new) if key not in present]
            if new:
                position = {name: i for i, name in enumerate(LEADERBOARD_COLUMNS)}
                _append(path, _csv_lines([[cells[position[name]] for name in header] for cells in new]))
            summary.added = len(new)
        write_json(_checked_path(path), _fingerprint(path))
    return summary


def _add_later_columns(path: Path) -> list[str]:
    """Give a leaderboard from before the later columns all of them, once (they read as empty).

    Rows cannot be appended without their label and hyperparameters, so this is the one time a
    leaderboard is rewritten: atomically, every line kept, under the lock.
    """
    table = leaderboard_table(path, read_bytes(path))
    with atomic_path(path) as tmp:
        tmp.write_bytes(_csv_lines([LEADERBOARD_COLUMNS] + table.values.tolist()))
    return list(LEADERBOARD_COLUMNS)


def append_rows(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Add every row (no replacement); returns the number added."""
    return write_rows(path, rows, mode="append").added


# --- a run's own rows -------------------------------------------------------------------------


def run_rows_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / RUN_ROWS


def record_run_rows(run_dir: str | Path, rows: list[dict[str, Any]], mode: str = "replace") -> None:
    """Merge ``rows`` into the run folder's ``rows.csv`` (each score once, the latest), atomically.

    ``mode`` as in :func:`write_rows`: with ``"missing"`` a score the file holds keeps its row.
    """
    import pandas as pd
    from filelock import FileLock

    path = run_rows_path(run_dir)
    with FileLock(str(path) + ".lock"):
        new = pd.DataFrame([row_cells(row) for row in rows], columns=LEADERBOARD_COLUMNS, dtype=object)
        if path.is_file() and path.stat().st_size:
            old = leaderboard_table(path, read_bytes(path))
            merged = pd.concat([old, new], ignore_index=True)
        else:
            merged = new
        merged = _each_score_once(merged, keep="first" if mode == "missing" else "last")
        with atomic_path(path) as tmp:
            tmp.write_bytes(_csv_lines([LEADERBOARD_COLUMNS] + merged.values.tolist()))


def _each_score_once(table, keep: str = "last"):
    """A table of text cells with one row per :data:`ROW_KEY` (``keep``: the first or last of each)."""
    import pandas as pd

    keys = pd.Series([cells_key(cells) for cells in table.to_dict("records")], index=table.index)
    return table[~keys.duplicated(keep=keep)]


def rebuild_leaderboard(path: str | Path, run_dirs: Iterable[str | Path], imported: Iterable[str | Path] = ()) -> int:
    """Write a new leaderboard at ``path``: the rows kept in ``run_dirs`` plus ``imported`` leaderboards.

    A score found more than once keeps its latest ``timestamp`` (the later line on a tie;
    imported files come first, then the runs in the given order), as every reader decides
    (:func:`~disbench.store.leaderboard_file.latest_rows`). Returns the rows written.

    Raises:
        UsageError: ``path`` already holds a leaderboard (it is never replaced).
        DisbenchError: a source does not parse.
    """
    import pandas as pd

    path = Path(path)
    refuse_a_folder(path)
    if path.is_file() and path.stat().st_size:
        raise UsageError(f"leaderboard {str(path)!r} exists and is never replaced; give a new path to rebuild into.")
    sources = [Path(p) for p in imported] + [run_rows_path(run_dir) for run_dir in run_dirs]
    tables = [leaderboard_table(source, read_bytes(source)) for source in sources if source.is_file()]
    if not tables:
        raise DisbenchError(f"no rows to rebuild {str(path)!r} from: none of the {len(sources)} sources holds a leaderboard.")
    merged = pd.concat(tables, ignore_index=True)
    when = pd.to_datetime(merged["timestamp"], utc=True, errors="coerce", format="mixed")
    merged = merged.assign(_when=when).sort_values("_when", kind="stable", na_position="first").drop(columns="_when")
    merged = _each_score_once(merged).sort_index()
    with atomic_path(path) as tmp:
        tmp.write_bytes(_csv_lines([LEADERBOARD_COLUMNS] + merged.values.tolist()))
    return len(merged)
