"""Reading leaderboards and merging them: one frame, each score once (its latest ``timestamp``).

A score recorded twice (same run, space, metric, factor, options, checkpoint ``steps`` and
protocol, e.g. from two machines) keeps its latest ``timestamp``. Scores of different
evaluation protocols (``n_eval``, ``n_test``, ``eval_seed``: the ``protocol`` column) are
different results.
"""

from __future__ import annotations

import glob
import math
from pathlib import Path
from typing import Any, Iterable

from disbench.errors import UsageError
from disbench.store import LATER_COLUMNS, ROW_KEY, read_leaderboard

GLOB_CHARACTERS = "*?["


def leaderboard_paths(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files named by ``sources``: paths, or shell globs (``results/*/leaderboard.csv``).

    Raises:
        UsageError: a glob matches no file.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    paths: list[Path] = []
    for source in sources:
        text = str(source)
        if not Path(text).exists() and any(ch in text for ch in GLOB_CHARACTERS):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise UsageError(f"--leaderboard {text!r} matches no file; check the pattern (quote it so the shell leaves it alone).")
            paths += [Path(m) for m in matches]
        else:
            paths.append(Path(text))
    return list(dict.fromkeys(paths))


def load_leaderboards(sources: str | Path | Iterable[str | Path]):
    """One frame from several leaderboards, each score once (its latest ``timestamp``).

    Leaderboards written before the ``label`` and ``hyperparameters`` columns existed
    read with both empty.
    """
    import pandas as pd

    frames = []
    for path in leaderboard_paths(sources):
        frame = read_leaderboard(path)
        for column in LATER_COLUMNS:
            if column not in frame.columns:
                frame[column] = ""
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty:
        return frame
    frame = frame.copy()
    for column in ("run_id", "space", "metric", "factor", "metric_options", "label", "hyperparameters", "method", "dataset"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["steps"] = pd.to_numeric(frame["steps"], errors="coerce").fillna(0).astype(int)
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce")
    frame["protocol"] = [
        protocol_text(*values) for values in zip(frame["n_eval"], frame["n_test"] if "n_test" in frame else [None] * len(frame), frame["eval_seed"])
    ]
    order = pd.to_datetime(frame["timestamp"].astype(str), utc=True, errors="coerce", format="mixed")
    # stable sort: equal or missing timestamps keep file order, so the later file wins a tie
    frame = frame.assign(_when=order).sort_values("_when", kind="stable", na_position="first")
    frame = frame.drop_duplicates(subset=list(ROW_KEY), keep="last").drop(columns="_when")
    return frame.sort_index()


def protocol_text(n_eval: Any, n_test: Any, eval_seed: Any) -> str:
    """A row's evaluation protocol as ``n_eval=10000, n_test=5000, eval_seed=0`` (an unrecorded value left out)."""
    parts = []
    for name, value in (("n_eval", n_eval), ("n_test", n_test), ("eval_seed", eval_seed)):
        number = _whole_number(value)
        if number is not None:
            parts.append(f"{name}={number}")
    return ", ".join(parts)


def _whole_number(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else int(number)


def protocol_fields(text: str) -> dict[str, int]:
    return {name: int(value) for name, _, value in (part.partition("=") for part in text.split(", ")) if name}


def latest_checkpoints(frame):
    """Each score at its run's latest scored checkpoint (largest ``steps``)."""
    if frame.empty:
        return frame
    per_score = ["run_id", "space", "metric", "factor", "metric_options", "protocol"]
    latest = frame.groupby(per_score)["steps"].transform("max")
    return frame[frame["steps"] == latest]

