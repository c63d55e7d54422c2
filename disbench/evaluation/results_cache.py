"""A run's results.json as the cache of what was scored: a metric already there is not computed again.

results.json holds one entry per metric, protocol and options
(:func:`disbench.store.put_entry`). Scoring a run (:mod:`disbench.evaluation.runs`) or a
configuration group (:mod:`disbench.evaluation.groups`) looks its metrics up there first;
:func:`reuse_entries` is the one way an entry found there becomes rows: written to a
leaderboard that lacks them, and reported as reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from disbench.evaluation.request import ALREADY_SCORED, EvalOutcome, EvalSettings
from disbench.evaluation.scoring import stored_rows
from disbench.store import hyperparameters_json, provenance_row, read_status, write_rows


def reuse_entries(
    outcome: EvalOutcome,
    entries: dict[str, dict[str, Any]],
    provenance: dict[str, Any],
    leaderboard: str | Path,
    run_dir: Path,
    at: str = "",
) -> None:
    """Record in ``outcome`` the ``{metric: results.json entry}`` found already scored.

    Their rows go to ``leaderboard`` where it lacks them (never twice), to the run folder's rows, and into
    ``outcome.rows``; each metric is listed as reused, and skipped with the reason
    (``at``: which checkpoint, e.g. `` at step 100``).
    """
    rows = [row for name, entry in entries.items() for row in stored_rows(name, entry, provenance)]
    outcome.added += write_rows(leaderboard, rows, mode="missing", run_dir=run_dir).added
    outcome.rows += rows
    outcome.reused += [name for name in entries if name not in outcome.reused]
    outcome.skipped += [(name, f"{ALREADY_SCORED}{at} (results.json; --overwrite scores it again)") for name in entries]


def run_provenance(
    run_dir: Path, config: dict[str, Any], spec: Any, settings: EvalSettings, data_source: str, step: int | None = None
) -> dict[str, Any]:
    """The provenance columns of a run's rows; ``steps`` is the scored checkpoint's step."""
    return provenance_row(
        run_id=config["run_id"],
        config_hash=config["config_hash"],
        method=spec.method,
        dataset=spec.dataset,
        data_source=data_source,
        seed=spec.seed,
        steps=spec.steps if step is None else step,
        n_eval=settings.n_eval,
        n_test=settings.n_test,
        eval_seed=settings.eval_seed,
        versions=config.get("versions", {}),
        device=config.get("device", ""),
        train_seconds=float(read_status(run_dir).get("train_seconds", 0.0)),
        label=str(config.get("label") or ""),
        hyperparameters=hyperparameters_json(spec),
        parameters=config.get("num_parameters"),
    )


def loaded_source(spec: Any) -> str:
    """The data source of a run's dataset (built, not loaded: no rendering)."""
    from disbench.training.runs import build_dataset

    return build_dataset(spec.dataset, spec.dataset_config).data_source
