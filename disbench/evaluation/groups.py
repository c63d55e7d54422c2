"""Run-group metrics (UDR): the seeds of one configuration scored together.

:func:`configuration_groups` groups runs that differ in seed only;
:func:`evaluate_run_groups` scores each :class:`~disbench.metrics.base.RunGroupMetric`
on each group and gives every run its own rows and results.json entry.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from disbench.config import config_to_dict
from disbench.evaluation.request import EvalOutcome, EvalRequest
from disbench.evaluation.results_cache import loaded_source, reuse_entries, run_provenance
from disbench.evaluation.scoring import options_json, stored_rows
from disbench.metrics.base import MetricNotApplicable, RunMember
from disbench.metrics.selection import metric_registry
from disbench.progress import NullProgress
from disbench.store import (
    RunSpec,
    find_entry,
    hyperparameters_json,
    put_entry,
    read_results,
    read_run_config,
    write_results,
    write_rows,
)


def configuration_groups(run_dirs: Iterable[Path]) -> list[list[Path]]:
    """``run_dirs`` grouped by configuration: same method, dataset and hyperparameters, seeds differing.

    Groups keep the order of their first run; runs within a group are ordered by seed.
    """
    groups: dict[tuple[str, str, str], list[tuple[int, Path]]] = {}
    for run_dir in run_dirs:
        spec = RunSpec.from_dict(read_run_config(run_dir))
        key = (spec.method, spec.dataset, hyperparameters_json(spec))
        groups.setdefault(key, []).append((spec.seed, run_dir))
    return [[run_dir for _, run_dir in sorted(members, key=lambda m: m[0])] for members in groups.values()]


def evaluate_run_groups(
    scored: list[tuple[Path, EvalOutcome]], request: EvalRequest, options: dict[str, Any]
) -> None:
    """Score the run-group metrics of ``options`` on each configuration group of ``scored``'s runs.

    Each run gets its own rows (its ``steps`` is its budget: the final checkpoints are
    compared) and results.json entry, recording the group it was scored in; a group scored
    before with the same runs, protocol and options is not computed again. A group of one
    run is skipped with the metric's reason.
    """
    from disbench.provenance import resolve_device
    from disbench.training.runs import load_run

    registry = metric_registry()
    settings = request.settings
    protocol = asdict(settings)
    outcome_of = {run_dir: outcome for run_dir, outcome in scored}
    for group in configuration_groups([run_dir for run_dir, _ in scored]):
        run_ids = [read_run_config(run_dir)["run_id"] for run_dir in group]
        loaded: list[Any] = []
        for name, metric_options in options.items():
            results = [read_results(run_dir) for run_dir in group]
            entries = [find_entry(r, name, protocol, options_json(metric_options)) for r in results]
            reuse = not request.overwrite and all(
                entry is not None
                and all(space.get("details", {}).get("group") == run_ids for space in entry["spaces"].values())
                for entry in entries
            )
            if reuse:
                for run_dir, entry in zip(group, entries):
                    config = read_run_config(run_dir)
                    spec = RunSpec.from_dict(config)
                    provenance = run_provenance(run_dir, config, spec, settings, loaded_source(spec))
                    reuse_entries(outcome_of[run_dir], {name: entry}, provenance, request.leaderboard, run_dir)
                continue
            if not loaded:
                loaded = [load_run(run_dir, resolve_device(request.device)) for run_dir in group]
            members = [RunMember(run_id, method, dataset) for run_id, (_, dataset, method) in zip(run_ids, loaded)]
            task_description = f"{name} of {len(group)} seeds of {loaded[0][0].method}"
            task = (request.progress or NullProgress()).task(task_description, total=1)
            started = time.perf_counter()
            try:
                metric_results = registry.get(name).compute(members, metric_options, np.random.default_rng(settings.eval_seed))
            except MetricNotApplicable as exc:
                for run_dir in group:
                    outcome_of[run_dir].skipped.append((name, str(exc)))
                task.close()
                continue
            seconds = (time.perf_counter() - started) / len(group)
            task.advance(1)
            task.close()
            for run_dir, (spec, dataset, method), metric_result, result in zip(group, loaded, metric_results, results):
                config = read_run_config(run_dir)
                space = _group_space(method, dataset)
                entry = {
                    "protocol": protocol,
                    "spaces": {
                        space: {
                            "options": config_to_dict(metric_options),
                            "scores": [asdict(score) for score in metric_result.scores],
                            "details": metric_result.details,
                            "seconds": seconds,
                        }
                    },
                }
                put_entry(result, name, entry)
                write_results(run_dir, result)
                provenance = run_provenance(run_dir, config, spec, settings, dataset.data_source)
                rows = stored_rows(name, entry, provenance)
                outcome = outcome_of[run_dir]
                summary = write_rows(request.leaderboard, rows, mode="replace", run_dir=run_dir)
                outcome.rows += rows
                outcome.added += summary.added
                outcome.replaced += summary.replaced
                outcome.computed.append(name)


def _group_space(method: Any, dataset: Any) -> str:
    """The name of the space a run-group metric scores: the run's only space, else ``joint``."""
    observation = dataset.observations_from_factors(dataset.sample_factors(1, np.random.default_rng(0)), np.random.default_rng(0))
    spaces = method.encode(observation, None).spaces
    return next(iter(spaces)) if len(spaces) == 1 else "joint"
