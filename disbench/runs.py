"""Resolve a run's configuration, build its dataset and method, train it, load it back."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from disbench.config import build_config, config_to_dict, field_names
from disbench.errors import DisbenchError, UsageError
from disbench.presets import method_defaults, preset_path
from disbench.progress import NullProgress, Progress
from disbench.store import (
    RunSpec,
    read_run_config,
    read_status,
    run_dir_for,
    write_run_config,
    write_status,
)

DEFAULT_STEPS = 1000


def _registries():
    from disbench.datasets import DATASETS
    from disbench.methods import METHODS

    return METHODS, DATASETS


def route_overrides(
    overrides: dict[str, Any], method_cls: type, dataset_cls: type, method: str, dataset: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``--set`` keys between the method and the dataset.

    ``method.KEY`` and ``dataset.KEY`` say where a key goes; a bare key goes to the
    method if it has such a hyperparameter, else to the dataset.
    """
    method_keys, dataset_keys = field_names(method_cls.Config), field_names(dataset_cls.Config)
    method_values: dict[str, Any] = {}
    dataset_values: dict[str, Any] = {}
    for key, value in overrides.items():
        scope, dot, bare = key.partition(".")
        if dot and scope == "method":
            method_values[bare] = value
        elif dot and scope == "dataset":
            dataset_values[bare] = value
        elif key in method_keys:
            method_values[key] = value
        elif key in dataset_keys:
            dataset_values[key] = value
        else:
            raise UsageError(
                f"unknown --set key {key!r}. Method {method!r} takes: {', '.join(method_keys) or '(none)'}; "
                f"dataset {dataset!r} takes: {', '.join(dataset_keys) or '(none)'}."
            )
    return method_values, dataset_values


def resolve_run_spec(
    method: str,
    dataset: str = "synthetic",
    seed: int = 0,
    steps: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> RunSpec:
    """The full configuration of a run: preset for (method, dataset), then ``overrides``.

    Raises:
        UsageError: unknown method, dataset or key, a value of the wrong type, or steps < 1.
    """
    methods, datasets = _registries()
    method_cls, dataset_cls = methods.get(method), datasets.get(dataset)
    preset_hyper, preset_budget = method_defaults(method, dataset)
    try:
        preset_config = build_config(method_cls.Config, preset_hyper, f"method {method!r}")
    except UsageError as exc:
        raise UsageError(f"preset {str(preset_path('methods', method))!r}: {exc}") from None
    method_values, dataset_values = route_overrides(overrides or {}, method_cls, dataset_cls, method, dataset)
    method_config = build_config(
        method_cls.Config, {**config_to_dict(preset_config), **method_values}, f"method {method!r}"
    )
    dataset_config = build_config(dataset_cls.Config, dataset_values, f"dataset {dataset!r}")
    if steps is not None and steps < 1:
        raise UsageError(f"--steps must be a positive number of steps, got {steps}.")
    if method_cls.trainable:
        steps = steps or int(preset_budget.get("steps", DEFAULT_STEPS))
    else:
        steps = 0  # fitted in one call: a budget would only change the run's hash
    return RunSpec(method, dataset, seed, steps, config_to_dict(method_config), config_to_dict(dataset_config))


def build_dataset(name: str, config: dict[str, Any] | None = None):
    _, datasets = _registries()
    dataset_cls = datasets.get(name)
    return dataset_cls(build_config(dataset_cls.Config, config or {}, f"dataset {name!r}"))


def build_method(spec: RunSpec, dataset: Any, device: str = "cpu"):
    methods, _ = _registries()
    method_cls = methods.get(spec.method)
    config = build_config(method_cls.Config, spec.method_config, f"method {spec.method!r}")
    import torch

    torch.manual_seed(spec.seed)  # network initialisation is part of the run's seeded state
    return method_cls(config, dataset, seed=spec.seed, device=device)


@dataclass
class TrainResult:
    run_dir: Path
    #: "trained", "resumed" or "skipped" (already finished)
    status: str
    train_seconds: float


def train(
    spec: RunSpec,
    runs_dir: str | Path = "runs",
    device: str = "auto",
    overwrite: bool = False,
    progress: Progress | None = None,
    label: str | None = None,
) -> TrainResult:
    """Train (or fit) the run ``spec`` into its folder under ``runs_dir``.

    An identical finished run is skipped, an interrupted one resumes from its last
    checkpoint, and ``overwrite`` starts afresh. ``label`` is recorded in config.yaml
    (not hashed: it names the run, it never changes its numbers).
    """
    from disbench import training
    from disbench.jobs import current_holder
    from disbench.provenance import device_description, resolve_device, versions

    device = resolve_device(device)
    progress = progress or NullProgress()
    run_dir = run_dir_for(runs_dir, spec)
    main_process = training.distributed_info().is_main  # under torchrun, rank 0 alone writes
    if overwrite and run_dir.exists() and main_process:
        shutil.rmtree(run_dir)
    status = read_status(run_dir)
    if status.get("state") == "finished":
        return TrainResult(run_dir, "skipped", float(status.get("train_seconds", 0.0)))

    dataset = build_dataset(spec.dataset, spec.dataset_config)
    method = build_method(spec, dataset, device)
    run_dir.mkdir(parents=True, exist_ok=True)
    record_config, record_status = (write_run_config, write_status) if main_process else (_skip_write, _skip_write)
    record_config(
        run_dir, spec, {
            "device": device_description(device),
            "data_source": dataset.data_source,
            "versions": versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **({"label": label} if label else {}),
        },
    )
    holder = current_holder()  # lets `bench --status` tell a live run from a killed one
    spent_before = float(status.get("train_seconds", 0.0))
    record_status(run_dir, state="running", train_seconds=spent_before, **holder)
    started = time.perf_counter()
    try:
        if method.trainable:
            outcome = training.train(method, spec.steps, run_dir, progress)
            result_status = "resumed" if outcome.status == "resumed" else "trained"
        else:
            method.fit_arrays(np.random.default_rng(spec.seed))
            training.save_checkpoint(run_dir / training.CHECKPOINT, method, None, 0, np.random.default_rng(spec.seed))
            result_status = "trained"
    except training.TrainingInterrupted:
        record_status(run_dir, state="interrupted", train_seconds=spent_before + time.perf_counter() - started, **holder)
        raise
    except DisbenchError as exc:
        record_status(run_dir, state="failed", error=str(exc), train_seconds=spent_before + time.perf_counter() - started, **holder)
        raise
    seconds = spent_before + time.perf_counter() - started
    record_status(run_dir, state="finished", step=spec.steps, train_seconds=seconds, **holder)
    return TrainResult(run_dir, result_status, seconds)


def _skip_write(*args: Any, **kwargs: Any) -> None:
    pass


def load_run(run_dir: str | Path, device: str = "cpu"):
    """The finished run in ``run_dir``: (spec, dataset, method with its trained state)."""
    from disbench import training

    run_dir = Path(run_dir)
    spec = RunSpec.from_dict(read_run_config(run_dir))
    if read_status(run_dir).get("state") != "finished":
        raise DisbenchError(f"run {run_dir.name!r} has not finished training; run `disbench train` for it first.")
    dataset = build_dataset(spec.dataset, spec.dataset_config)
    method = build_method(spec, dataset, device)
    state = training.load_checkpoint(run_dir / training.CHECKPOINT, device)
    method.load_state_dict(state["method"])
    return spec, dataset, method
