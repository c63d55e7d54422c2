"""A run's ``log.jsonl``: one line of losses per step, appended by the main process.

A resumed run first drops the lines of steps its checkpoint has not seen, so the log
always describes the steps that led to the checkpoint being continued.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from disbench.store import kept_checkpoint
from disbench.store.atomic import write_text
from disbench.training.checkpoints import keep_checkpoint

LOG = "log.jsonl"


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open() as handle:
        for line in handle:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    return  # a line cut by a kill ends the usable log


def truncate_log(path: Path, keep_before_step: int) -> None:
    """Drop log lines of steps that the checkpoint being resumed has not seen."""
    if path.is_file():
        kept = [json.dumps(e) for e in read_log(path) if e.get("step", -1) < keep_before_step]
        write_text(path, "".join(line + "\n" for line in kept))


def prepare_log(run_dir: Path, start_step: int, save_at: set[int]) -> None:
    """Make a run folder consistent with the checkpoint it resumes from: drop later log lines and
    copy a ``save_at`` checkpoint that a kill left uncopied."""
    truncate_log(Path(run_dir) / LOG, start_step)
    if start_step in save_at and not kept_checkpoint(run_dir, start_step).is_file():
        keep_checkpoint(run_dir, start_step)  # killed between the checkpoint and its copy
