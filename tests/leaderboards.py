"""Leaderboards built in tests: rows with the `label` and `hyperparameters` columns, written as CSV."""

from __future__ import annotations

import hashlib
import json

#: numeric provenance columns a strict reader parses; tests leave them at 0
NUMERIC_DEFAULTS = {"n_eval": 0, "eval_seed": 0, "train_seconds": 0.0, "eval_seconds": 0.0}


def scored(method, seed, value, config=None, *, label="", steps=None, metric="mig", factor="all", space="latent",
           dataset="synthetic", run_id=None, timestamp="2026-12-01T10:00:00+0000", budget=1000, higher=True, options="{}"):
    """One leaderboard row with the `label` and `hyperparameters` columns (RunSpec minus method, dataset, seed)."""
    hyper = json.dumps({"method_config": config or {}, "dataset_config": {}, "steps": budget}, sort_keys=True)
    digest = hashlib.sha256(hyper.encode()).hexdigest()[:6]
    return {
        "run_id": run_id or f"{method}_{dataset}_s{seed}_{digest}", "method": method, "dataset": dataset, "seed": seed,
        "space": space, "metric": metric, "factor": factor, "value": value, "higher_is_better": higher,
        "metric_options": options, "steps": budget if steps is None else steps, "timestamp": timestamp,
        "label": label, "hyperparameters": hyper,
    }


def write_leaderboard(path, records, new_columns=True):
    """``records`` as a leaderboard CSV; ``new_columns=False`` writes a file from before `label` and `hyperparameters`."""
    import pandas as pd

    from disbench.store import LEADERBOARD_COLUMNS

    later = ["label", "hyperparameters"]
    columns = [c for c in LEADERBOARD_COLUMNS if c not in later] + (later if new_columns else [])
    frame = pd.DataFrame(records)
    for column in columns:
        if column not in frame.columns:
            frame[column] = NUMERIC_DEFAULTS.get(column, "")
    frame[columns].to_csv(path, index=False)
    return path
