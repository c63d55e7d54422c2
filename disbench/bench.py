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

Each entry may also restrict ``datasets`` or ``seeds``. The grid is ordered, so
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
ENTRY_KEYS = {"steps", "set", "datasets", "seeds"}


@dataclass(frozen=True)
class SuiteRun:
    method: str
    dataset: str
    seed: int
    steps: int | None
    overrides: dict[str, Any] = field(default_factory=dict)


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
                runs.append(SuiteRun(method, dataset, int(seed), entry.get("steps"), dict(entry.get("set") or {})))
    eval_settings = EvalSettings(**(data.get("eval") or {}))
    return Suite(
        name=str(data.get("name", path.stem)),
        runs=runs,
        metrics=list(data.get("metrics") or ["all"]),
        eval_settings=eval_settings,
        description=str(data.get("description", "")),
    )
