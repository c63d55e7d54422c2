"""What a run leaves on disk: its folder, and the leaderboard its scores go to.

- :mod:`~disbench.store.run_spec`: :class:`RunSpec`, what determines a run's numbers, and its id;
- :mod:`~disbench.store.run_folder`: config.yaml, status.json, results.json (one entry per
  metric, protocol and options) and the kept checkpoints;
- :mod:`~disbench.store.leaderboard`: the column schema, :data:`ROW_KEY` and the rows;
- :mod:`~disbench.store.leaderboard_file` / :mod:`~disbench.store.leaderboard_write`: the CSV
  file, read with every line checked, written by appending under a lock;
- :mod:`~disbench.store.canonical`: the one canonical JSON of configurations and options;
- :mod:`~disbench.store.atomic`, :mod:`~disbench.store.run_lock`, :mod:`~disbench.store.jobs`:
  atomic writes, the training lock of a run folder, and who holds it.
"""

from disbench.store.canonical import canonical_json
from disbench.store.leaderboard import (
    LATER_COLUMNS,
    LEADERBOARD_COLUMNS,
    PROTOCOL_COLUMNS,
    ROW_KEY,
    SCHEMA,
    provenance_row,
    score_rows,
)
from disbench.store.leaderboard_file import read_leaderboard
from disbench.store.leaderboard_write import (
    WriteSummary,
    append_rows,
    check_leaderboard_writable,
    rebuild_leaderboard,
    record_run_rows,
    write_rows,
)
from disbench.store.run_folder import (
    CONFIG,
    CORRUPT_STATUS,
    KEPT_CHECKPOINTS,
    RESULTS,
    RUN_ROWS,
    STATUS,
    corrupt_status_message,
    find_entry,
    finished_runs,
    kept_checkpoint,
    kept_steps,
    metric_entries,
    put_entry,
    read_results,
    read_run_config,
    read_status,
    results_path,
    run_dir_for,
    timestamp,
    write_results,
    write_run_config,
    write_status,
)
from disbench.store.run_spec import RunSpec, hyperparameters_json

__all__ = [name for name in dir() if not name.startswith("_")]
