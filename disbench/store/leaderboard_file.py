"""Reading a leaderboard file: every line checked, the latest row of each score kept.

A leaderboard is a CSV file that writers only ever append to
(:mod:`disbench.store.leaderboard_write`), so it may hold a score more than once: the
later line is a rescore and replaces the earlier one (:data:`ROW_KEY`). A file that does
not parse cleanly is refused with its line number and never half-read; that includes a
last line without its line end, which a writer stopped mid-write would leave.

The rows are parsed by pandas and checked column by column; only a file that fails a
check is read again line by line (:func:`checked_records`), which finds the first bad line
and says what is wrong with it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from disbench.errors import DisbenchError, UsageError
from disbench.store.leaderboard import INTEGER_COLUMNS, LATER_COLUMNS, LEADERBOARD_COLUMNS, NUMBER_COLUMNS, ROW_KEY

_FLAGS = ("True", "False", "true", "false", "")


def refuse_line(path: Path, line: int, problem: str) -> DisbenchError:
    return DisbenchError(
        f"leaderboard {str(path)!r} line {line}: {problem}; fix or delete that line "
        "(disbench never rewrites a leaderboard it cannot read)."
    )


def refuse_a_folder(path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"leaderboard {str(path)!r} is a folder; give the CSV file (e.g. {str(path / 'leaderboard.csv')!r}).")


def read_bytes(path: Path) -> bytes:
    """The file's bytes, refused unless they are UTF-8 text whose last line is complete."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DisbenchError(f"leaderboard {str(path)!r} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DisbenchError(f"leaderboard {str(path)!r} is not a text CSV file; move it aside or pass another --leaderboard.") from None
    if raw and not raw.endswith(b"\n"):
        raise refuse_line(path, raw.count(b"\n") + 1, "the line is cut off (it has no line end: a write was stopped midway)")
    return raw


def check_header(path: Path, header: list[str]) -> None:
    missing = [c for c in LEADERBOARD_COLUMNS if c not in header and c not in LATER_COLUMNS]
    if missing:
        raise DisbenchError(
            f"leaderboard {str(path)!r} lacks columns {', '.join(missing)}; "
            "it was not written by disbench: move it aside or pass another --leaderboard."
        )


def header_of(path: Path, raw: bytes) -> list[str]:
    """The checked header (first line) of a leaderboard's bytes."""
    first = raw[: raw.find(b"\n") + 1].decode("utf-8")
    header = next(csv.reader(io.StringIO(first, newline="")), [])
    check_header(path, header)
    return header


# --- the careful reader: line by line, naming the first bad line ------------------------------


def checked_records(path: Path, raw: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and records of a leaderboard as strings, every record checked; DisbenchError on the first bad line."""
    reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), strict=True)
    try:
        header = next(reader, [])
        check_header(path, header)
        index = {name: i for i, name in enumerate(header)}
        records = []
        line = reader.line_num
        for record in reader:
            if record:
                _check_record(path, line + 1, record, header, index)
                records.append(record)
            line = reader.line_num
    except csv.Error as exc:
        raise refuse_line(path, reader.line_num, f"not valid CSV ({exc})") from None
    return header, records


def _check_record(path: Path, line: int, record: list[str], header: list[str], index: dict[str, int]) -> None:
    if len(record) != len(header):
        raise refuse_line(path, line, f"{len(record)} fields where the header has {len(header)}")
    value = record[index["value"]]
    try:
        float(value)
    except ValueError:
        raise refuse_line(path, line, f"value {value!r} is not a number") from None
    for column in NUMBER_COLUMNS:
        if column not in index:  # a column added later, which an older file lacks
            continue
        cell = record[index[column]]
        try:
            number = float(cell) if cell else 0.0
        except ValueError:
            raise refuse_line(path, line, f"{column} {cell!r} is not a number") from None
        if column in INTEGER_COLUMNS and not number.is_integer():
            raise refuse_line(path, line, f"{column} {cell!r} is not an integer")
    direction = record[index["higher_is_better"]]
    if direction not in _FLAGS:
        raise refuse_line(path, line, f"higher_is_better {direction!r} is not True or False")


# --- the fast reader: parsed by pandas, checked a column at a time ------------------------------


def _record_shape_is_regular(raw: bytes, width: int) -> int | None:
    """The number of non-blank records below the header when each has ``width`` fields and
    its quotes are well placed, else None (the careful reader then finds the bad line)."""
    import numpy as np

    data = np.frombuffer(raw, np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    if len(quotes) % 2:
        return None
    # a quote opens a field (after a separator or a line end) or closes one (before either);
    # the two halves of an escaped quote ("") sit beside each other
    opening, closing = quotes[0::2], quotes[1::2]
    before = data[np.maximum(opening - 1, 0)]
    if not np.all((opening == 0) | np.isin(before, (ord(","), ord("\n"), ord('"')))):
        return None
    after = data[np.minimum(closing + 1, len(data) - 1)]
    if not np.all(np.isin(after, (ord(","), ord("\r"), ord("\n"), ord('"')))):
        return None

    def outside_quotes(positions):
        return positions[(np.searchsorted(quotes, positions) & 1) == 0]

    ends = outside_quotes(np.flatnonzero(data == ord("\n")))
    separators = outside_quotes(np.flatnonzero(data == ord(",")))
    if len(ends) < 1:
        return None
    fields = np.diff(np.searchsorted(separators, ends)) + 1
    lengths = np.diff(ends) - 1
    blank = (lengths == 0) | ((lengths == 1) & (data[np.maximum(ends[1:] - 1, 0)] == ord("\r")))
    if not np.all(blank | (fields == width)):
        return None
    return int((~blank).sum())


def _fast_table(raw: bytes, header: list[str]):
    """The records as a frame of strings under ``header``, or None when any check fails."""
    import numpy as np
    import pandas as pd

    if len(set(header)) != len(header):
        return None
    count = _record_shape_is_regular(raw, len(header))
    if count is None:
        return None
    frame = pd.read_csv(
        io.BytesIO(raw), dtype=object, keep_default_na=False, na_filter=False, encoding="utf-8", engine="c", skip_blank_lines=True
    )
    if len(frame) != count or frame.shape[1] != len(header):
        return None
    frame.columns = header
    try:
        frame["value"].to_numpy(dtype=object).astype(float)
        for column in NUMBER_COLUMNS:
            if column in frame.columns:
                cells = frame[column].to_numpy(dtype=object)
                numbers = np.where(cells == "", "0", cells).astype(float)
                if column in INTEGER_COLUMNS and not np.all(np.isfinite(numbers) & (numbers == np.floor(numbers))):
                    return None
    except ValueError:
        return None
    if not frame["higher_is_better"].isin(_FLAGS).all():
        return None
    return frame


def leaderboard_table(path: Path, raw: bytes):
    """Every record of a leaderboard's bytes as a frame of strings in :data:`LEADERBOARD_COLUMNS`
    order (columns an older file lacks are empty), in file order.

    Raises:
        DisbenchError: a line does not parse, naming the file and the line.
    """
    import pandas as pd

    header = header_of(path, raw)
    frame = _fast_table(raw, header)
    if frame is None:
        header, records = checked_records(path, raw)  # raises on the first bad line
        frame = pd.DataFrame(records, columns=header, dtype=object)
    for column in LEADERBOARD_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    return frame[LEADERBOARD_COLUMNS]


def latest_rows(frame):
    """Each score once (:data:`ROW_KEY`): its latest ``timestamp``, the later line on a tie, in file order.

    A rescore is appended with the time it was scored, so it is both the later line and the
    later timestamp; rows copied in from elsewhere keep their own time.
    """
    import pandas as pd

    key = list(ROW_KEY)
    repeated = frame.duplicated(subset=key, keep=False)
    if repeated.any():
        scores = frame[repeated]  # only scores recorded more than once need their times read
        when = pd.to_datetime(scores["timestamp"].astype(str), utc=True, errors="coerce", format="mixed")
        ordered = scores.assign(_when=when).sort_values("_when", kind="stable", na_position="first")
        frame = frame.drop(index=ordered.index[ordered.duplicated(subset=key, keep="last")])
    return frame.reset_index(drop=True)


def typed(frame):
    """A table of strings with numbers parsed: ``value`` float, integer columns int64 (Int64 when
    a cell is empty), the seconds float."""
    import numpy as np
    import pandas as pd

    frame = frame.copy()
    frame["value"] = frame["value"].to_numpy(dtype=object).astype(float)
    for column in NUMBER_COLUMNS:
        cells = frame[column].to_numpy(dtype=object)
        numbers = pd.Series(np.where(cells == "", "nan", cells).astype(float), index=frame.index)
        if column in INTEGER_COLUMNS:
            numbers = numbers.astype("Int64") if numbers.isna().any() else numbers.astype("int64")
        frame[column] = numbers
    return frame


def read_leaderboard(path: str | Path):
    """The leaderboard as a DataFrame, each score once (its latest line); empty if the file is missing.

    Raises:
        DisbenchError: the file lacks our columns, or a line does not parse (wrong number of
            fields, a value that is not a number, a last line cut off, ...), naming the file
            and the line.
        UsageError: the path is a folder.
    """
    import pandas as pd

    path = Path(path)
    refuse_a_folder(path)
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    raw = read_bytes(path)
    return latest_rows(typed(leaderboard_table(path, raw)))
