"""Suites: a grid of (method, dataset, seed, hyperparameters, steps) trained, scored and reported.

A suite is a YAML file (``suites/NAME.yaml`` or any path)::

    name: quick
    seeds: [0, 1]
    datasets: [synthetic]
    metrics: [mig, sap, r2]
    eval: {n_eval: 10000, n_test: 5000}
    methods:
      beta-vae: {steps: 1500, set: {lr: 0.001}}
      pca: {}
      geomancer: {datasets: [product-manifold], metrics: [subspace-angle]}

Each entry may also set its own ``datasets``, ``seeds`` or ``metrics``. The grid is ordered, so
``--list`` shows an index per run and ``--index I`` runs one (for array jobs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbench.config import load_yaml_file
from disbench.errors import UsageError
from disbench.evaluation import EvalSettings
from disbench.presets import preset_dir

SUITE_KEYS = {"name", "description", "seeds", "datasets", "metrics", "methods", "eval"}
ENTRY_KEYS = {"steps", "set", "datasets", "seeds", "metrics"}


@dataclass(frozen=True)
class SuiteRun:
    method: str
    dataset: str
    seed: int
    steps: int | None
    overrides: dict[str, Any] = field(default_factory=dict)
    #: this run's metrics, or None for the suite's
    metrics: tuple[str, ...] | None = None


@dataclass
class Suite:
    name: str
    runs: list[SuiteRun]
    metrics: list[str]
    eval_settings: EvalSettings
    description: str = ""


def suite_names() -> list[str]:
    return sorted(p.stem for p in preset_dir("suites").glob("*.yaml"))


def load_suite(name_or_path: str) -> Suite:
    """A suite by name (``suites/NAME.yaml``) or path; unknown keys are UsageErrors."""
    path = Path(name_or_path)
    if not path.suffix:
        path = preset_dir("suites") / f"{name_or_path}.yaml"
        if not path.is_file():
            from disbench.registry import unknown_name_message

            raise UsageError(unknown_name_message("suite", name_or_path, suite_names()))
    data = load_yaml_file(path, what="suite")
    unknown = set(data) - SUITE_KEYS
    if unknown:
        raise UsageError(f"suite {str(path)!r}: unknown key {sorted(unknown)[0]!r}; valid keys: {', '.join(sorted(SUITE_KEYS))}.")
    methods = data.get("methods") or {}
    if isinstance(methods, list):
        methods = {m: {} for m in methods}
    if not methods:
        raise UsageError(f"suite {str(path)!r} lists no methods.")
    seeds = list(data.get("seeds") or [0])
    datasets = list(data.get("datasets") or ["synthetic"])
    runs = []
    for method, entry in methods.items():
        entry = entry or {}
        bad = set(entry) - ENTRY_KEYS
        if bad:
            raise UsageError(
                f"suite {str(path)!r}, method {method!r}: unknown key {sorted(bad)[0]!r}; valid keys: {', '.join(sorted(ENTRY_KEYS))}."
            )
        for dataset in entry.get("datasets", datasets):
            for seed in entry.get("seeds", seeds):
                metrics = tuple(entry["metrics"]) if entry.get("metrics") else None
                runs.append(SuiteRun(method, dataset, int(seed), entry.get("steps"), dict(entry.get("set") or {}), metrics))
    eval_settings = EvalSettings(**(data.get("eval") or {}))
    return Suite(
        name=str(data.get("name", path.stem)),
        runs=runs,
        metrics=list(data.get("metrics") or ["all"]),
        eval_settings=eval_settings,
        description=str(data.get("description", "")),
    )


@dataclass
class SuiteRunResult:
    run_id: str
    train_status: str
    rows: int


def execute_run(
    spec: Any,
    metrics: list[str],
    eval_settings: EvalSettings,
    runs_dir: str | Path,
    leaderboard: str | Path,
    device: str,
    overwrite: bool,
    threads: int | None = None,
    progress: Any = None,
) -> SuiteRunResult:
    """Train (or skip, or resume) one run of a suite and score it; safe to call in a worker process."""
    from disbench.evaluation import EvalRequest, evaluate_run
    from disbench.runs import train

    if threads:
        import torch

        torch.set_num_threads(threads)
    result = train(spec, runs_dir, device, overwrite, progress)
    request = EvalRequest(metrics, {}, leaderboard, eval_settings, device, overwrite, progress=progress)
    outcome = evaluate_run(result.run_dir, request)
    return SuiteRunResult(spec.run_id, result.status, outcome.added)


def run_suite(
    suite: Suite,
    specs: list[Any],
    runs: list[SuiteRun],
    runs_dir: str | Path,
    leaderboard: str | Path,
    device: str = "auto",
    overwrite: bool = False,
    jobs: int = 1,
    progress: Any = None,
) -> list[SuiteRunResult]:
    """Every run of ``specs`` in order, or on ``jobs`` local processes sharing the cores.

    Workers share nothing but the run folders (one each) and the leaderboard,
    whose appends are locked, so the outcome is the same as a sequential run.
    """
    from disbench.progress import NullProgress

    progress = progress or NullProgress()
    task = progress.task(f"suite {suite.name}", total=len(specs))
    results: list[SuiteRunResult] = []
    common = (suite.eval_settings, str(runs_dir), str(leaderboard), device, overwrite)
    metrics = [list(run.metrics or suite.metrics) for run in runs]
    if jobs <= 1:
        for spec, run_metrics in zip(specs, metrics):
            result = execute_run(spec, run_metrics, *common, progress=progress)
            progress.message(f"{result.run_id}: {result.train_status}, {result.rows} rows")
            results.append(result)
            task.advance(1)
    else:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor, as_completed

        threads = max(1, (os.cpu_count() or 1) // jobs)
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [
                pool.submit(execute_run, spec, run_metrics, *common, threads) for spec, run_metrics in zip(specs, metrics)
            ]
            for future in as_completed(futures):
                result = future.result()
                progress.message(f"{result.run_id}: {result.train_status}, {result.rows} rows")
                results.append(result)
                task.advance(1)
    task.close()
    return results
