"""The leaderboard's schema and its rows: one row per score, with the provenance of its run.

A row is one score of one run: (run, space, metric, factor, metric options, checkpoint
``steps``, protocol: ``n_eval``, ``n_test``, ``eval_seed``) is its key (:data:`ROW_KEY`);
a later row with the same key is a rescore and replaces the earlier one wherever rows are
read. :func:`provenance_row` builds the columns a run's rows share and :func:`score_rows`
adds the scores. The file itself (CSV, append-only) is :mod:`disbench.store.leaderboard_file`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from disbench.store.run_folder import timestamp


@dataclass(frozen=True)
class Column:
    """One leaderboard column: its name, what its cells hold, and whether older files lack it."""

    name: str
    #: ``text``; ``integer`` (empty allowed, read as missing); ``number`` (float, empty allowed);
    #: ``score`` (a float, never empty); ``flag`` (True, False or empty)
    kind: str = "text"
    #: added after the first release: a leaderboard written before reads it as empty
    later: bool = False


SCHEMA = (
    Column("run_id"),
    Column("config_hash"),
    Column("method"),
    Column("dataset"),
    Column("data_source"),
    Column("seed", "integer"),
    Column("space"),
    Column("metric"),
    Column("factor"),
    Column("value", "score"),
    Column("higher_is_better", "flag"),
    Column("metric_options"),
    Column("n_eval", "integer"),
    Column("n_test", "integer", later=True),
    Column("eval_seed", "integer"),
    Column("steps", "integer"),
    Column("disbench_version"),
    Column("torch_version"),
    Column("python_version"),
    Column("device"),
    Column("train_seconds", "number"),
    Column("eval_seconds", "number"),
    Column("timestamp"),
    Column("label", later=True),
    Column("hyperparameters", later=True),
    Column("parameters", later=True),
)

#: the columns in the order a leaderboard file holds them
LEADERBOARD_COLUMNS = [column.name for column in SCHEMA]
#: columns added after the first release: a leaderboard without them reads them as ""
LATER_COLUMNS = tuple(column.name for column in SCHEMA if column.later)
INTEGER_COLUMNS = tuple(column.name for column in SCHEMA if column.kind == "integer")
NUMBER_COLUMNS = INTEGER_COLUMNS + tuple(column.name for column in SCHEMA if column.kind == "number")

#: the evaluation protocol of a row: scores at another protocol are other results, kept beside it
PROTOCOL_COLUMNS = ("n_eval", "n_test", "eval_seed")
#: one score: rows equal on these columns are the same measurement recorded twice, and the
#: latest replaces the others (a rescore); every reader of rows decides "the same score" by it
ROW_KEY = ("run_id", "space", "metric", "factor", "metric_options", "steps", *PROTOCOL_COLUMNS)


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
        metric_options: canonical JSON of the resolved options
            (:func:`~disbench.store.canonical.canonical_json`).
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


def cell(value: Any) -> str:
    """How a row value is written: floats in their shortest exact form, None as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if hasattr(value, "item"):  # numpy scalars
        return cell(value.item())
    return str(value)


def row_cells(row: dict[str, Any], columns: list[str] = LEADERBOARD_COLUMNS) -> list[str]:
    """``row`` as the cells of ``columns``; a column the row lacks is empty."""
    return [cell(row.get(column, "")) for column in columns]


def integer_text(text: str) -> str:
    """An integer cell in one spelling (an older writer may have written a step as ``1000.0``)."""
    try:
        return str(int(float(text)))
    except (ValueError, OverflowError):
        return text


_INTEGER_KEY_COLUMNS = {name for name in ROW_KEY if name in INTEGER_COLUMNS}


def cells_key(cells: dict[str, str]) -> tuple[str, ...]:
    """The :data:`ROW_KEY` of a row given as text cells by column name."""
    return tuple(integer_text(cells.get(c, "")) if c in _INTEGER_KEY_COLUMNS else cells.get(c, "") for c in ROW_KEY)
