"""Resolve a run's configuration, build its dataset and method, train it, load it back."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from disbench.config import build_config, check_label, check_seed, check_steps, config_to_dict, field_names, spec_values
from disbench.errors import DisbenchError, UsageError
from disbench.presets import method_defaults
from disbench.progress import NullProgress, Progress
from disbench.store import (
    CORRUPT_STATUS,
    RunSpec,
    corrupt_status_message,
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
    seed = check_seed(seed)
    if steps is not None:
        steps = check_steps(steps)
    preset_hyper, preset_budget = method_defaults(method, dataset)  # validated: the file named in any error
    preset_config = build_config(method_cls.Config, preset_hyper, f"method {method!r}")
    method_values, dataset_values = route_overrides(overrides or {}, method_cls, dataset_cls, method, dataset)
    method_config = build_config(
        method_cls.Config, {**config_to_dict(preset_config), **method_values}, f"method {method!r}"
    )
    dataset_config = absolute_paths(build_config(dataset_cls.Config, dataset_values, f"dataset {dataset!r}"))
    if method_cls.trainable:
        steps = steps or check_steps(preset_budget.get("steps", DEFAULT_STEPS), "the preset's budget steps")
    else:
        steps = 0  # fitted in one call: a budget would only change the run's hash
    beyond = [step for step in getattr(method_config, "save_at", ()) if step > steps]
    if beyond:
        raise UsageError(
            f"save_at step {beyond[0]:,} is beyond the run's budget of {steps:,} steps; "
            "keep checkpoints of earlier steps or raise --steps."
        )
    return RunSpec(method, dataset, seed, steps, spec_values(method_config), spec_values(dataset_config))


def absolute_paths(config: Any) -> Any:
    """``config`` with its path options (``Config.path_options``) made absolute.

    A run records where its data came from: ``root=imgs`` trained in one folder must
    not name another folder's ``imgs`` when the run is scored from elsewhere.
    """
    changes = {
        name: os.path.abspath(os.path.expanduser(getattr(config, name)))
        for name in getattr(config, "path_options", ())
        if isinstance(getattr(config, name, None), str) and getattr(config, name)
    }
    return dataclasses.replace(config, **changes) if changes else config


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


def train_run(
    spec: RunSpec,
    runs_dir: str | Path = "runs",
    device: str = "auto",
    overwrite: bool = False,
    progress: Progress | None = None,
    label: str | None = None,
    wait: bool = False,
) -> TrainResult:
    """Train (or fit) the run ``spec`` into its folder under ``runs_dir``.

    An identical finished run is skipped, an interrupted one resumes from its last
    checkpoint, and ``overwrite`` starts afresh. While a process trains a run it holds
    the run folder's lock (:mod:`disbench.store.run_lock`): a second process raises
    :class:`~disbench.store.run_lock.RunLocked` naming the holder, or with ``wait`` waits
    for it (and then finds the run finished).

    Args:
        label: a name for the run, stored as ``label`` in its config.yaml and shown by
            reports. Not part of the config hash: it never changes the numbers. Training
            a finished run again with another label relabels it (config.yaml rewritten
            atomically; nothing is recomputed; leaderboard rows already written keep the
            label they were scored with); ``None`` keeps the run's label.
        wait: wait for another process that trains the same run instead of failing.

    Raises:
        UsageError: an empty label, or one with a newline or other control character.
        RunLocked: another live process trains this run and ``wait`` is false.
    """
    from disbench.methods.distributed import distributed_info
    from disbench.provenance import resolve_device
    from disbench.store.run_lock import RunLock

    label = check_label(label)
    device = resolve_device(device)
    progress = progress or NullProgress()
    run_dir = run_dir_for(runs_dir, spec)
    main_process = distributed_info().is_main  # under torchrun, rank 0 alone writes and locks
    if not main_process:
        return _train_unlocked(spec, run_dir, device, False, progress, label)
    on_wait = lambda holder: progress.message(f"{spec.run_id}: waiting for {holder} to finish it")  # noqa: E731
    with RunLock(run_dir, wait=wait, on_wait=on_wait):
        return _train_unlocked(spec, run_dir, device, overwrite, progress, label)


def _train_unlocked(
    spec: RunSpec, run_dir: Path, device: str, overwrite: bool, progress: Progress, label: str | None
) -> TrainResult:
    from disbench import training
    from disbench.training import loop

    run = open_run(spec, run_dir, device, overwrite, label)
    if isinstance(run, TrainResult):
        return run
    method = run.method
    try:
        if method.trainable:
            outcome = loop.run_training_loop(method, spec.steps, run_dir, progress)
            result_status = "resumed" if outcome.status == "resumed" else "trained"
            run.record_threads(outcome.cpu_threads)
            collapse = outcome.collapse
        else:
            method.fit_arrays(np.random.default_rng(spec.seed))
            training.save_checkpoint(run_dir / training.CHECKPOINT, method, None, 0, np.random.default_rng(spec.seed))
            result_status, collapse = "trained", None
    except (training.TrainingInterrupted, KeyboardInterrupt):  # KeyboardInterrupt: stopped before the loop's handler
        run.interrupted()
        raise
    except Exception as exc:  # never leave a run marked "running" by a process that has stopped
        run.failed(exc)
        raise
    return run.finished(result_status, collapse)


@dataclass
class OpenRun:
    """A run folder being trained: method built, config.yaml written, status.json "running".

    Whoever trains it ends it with exactly one of :meth:`finished`, :meth:`interrupted` or
    :meth:`failed`, which write the final status (rank 0 alone under torchrun).
    """

    spec: RunSpec
    run_dir: Path
    method: Any
    holder: dict[str, Any]
    spent_before: float
    started: float
    main_process: bool
    #: what config.yaml records beside the spec
    provenance: dict[str, Any]

    def _seconds(self) -> float:
        return self.spent_before + time.perf_counter() - self.started

    def _record(self, **fields: Any) -> None:
        if self.main_process:
            write_status(self.run_dir, **fields, train_seconds=self._seconds(), **self.holder)

    def record_threads(self, cpu_threads: int | None) -> None:
        """Add the CPU threads the run's steps took to config.yaml: its float sums depend on them."""
        if cpu_threads is not None and self.main_process:
            write_run_config(self.run_dir, self.spec, {**self.provenance, "cpu_threads": cpu_threads})

    def interrupted(self) -> None:
        self._record(state="interrupted")

    def failed(self, exc: BaseException) -> None:
        self._record(state="failed", error=str(exc) if isinstance(exc, DisbenchError) else f"{type(exc).__name__}: {exc}")

    def finished(self, result_status: str, collapse: list[dict[str, int]] | None = None) -> TrainResult:
        """``collapse``: the stretches the run sat at its collapsed loss (None: not watched)."""
        seconds = self._seconds()
        self._record(state="finished", step=self.spec.steps, **({"collapse": collapse} if collapse is not None else {}))
        return TrainResult(self.run_dir, result_status, seconds)


def open_run(spec: RunSpec, run_dir: Path, device: str, overwrite: bool, label: str | None) -> OpenRun | TrainResult:
    """Start training ``run_dir`` (its lock held by the caller): wipe it under ``overwrite``, build
    the method, record config.yaml and a "running" status; a finished run is a "skipped" TrainResult."""
    from disbench import training
    from disbench.methods.distributed import distributed_info
    from disbench.store.jobs import current_holder
    from disbench.provenance import device_description, versions
    from disbench.store.run_lock import LOCK_FILE

    main_process = distributed_info().is_main
    if overwrite and run_dir.exists() and main_process:
        for entry in run_dir.iterdir():
            if entry.name != LOCK_FILE:  # the lock we hold stays
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    status = read_status(run_dir)
    previous_label = _recorded_label(run_dir) if status.get("state") != "new" else None
    if status.get("state") == "finished":
        training.check_checkpoint_intact(run_dir / training.CHECKPOINT)  # "skipped" promises a usable run
        if label is not None and label != previous_label and main_process:
            relabel(run_dir, label)
        return TrainResult(run_dir, "skipped", float(status.get("train_seconds", 0.0)))

    dataset = build_dataset(spec.dataset, spec.dataset_config)
    method = build_method(spec, dataset, device)
    if method.trainable:
        training.check_batch_memory(method)
    run_dir.mkdir(parents=True, exist_ok=True)
    label = label if label is not None else previous_label  # a resumed run keeps its name unless given another
    provenance = {
        **({"label": label} if label else {}),
        "device": device_description(device),
        "data_source": dataset.data_source,
        **({"num_parameters": count} if (count := parameter_count(method)) is not None else {}),
        "versions": versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if main_process:
        write_run_config(run_dir, spec, provenance)
    holder = current_holder()  # lets `bench --status` tell a live run from a killed one
    spent_before = float(status.get("train_seconds", 0.0))
    if main_process:
        write_status(run_dir, state="running", train_seconds=spent_before, **holder)
    return OpenRun(spec, run_dir, method, holder, spent_before, time.perf_counter(), main_process, provenance)


def parameter_count(method: Any) -> int | None:
    """The encoder's size as reports show it: a method's own ``num_parameters`` (a frozen
    pretrained network), else the parameters of its trained modules; None for methods
    without a network (pca, ica, oracle)."""
    count = getattr(method, "num_parameters", None)
    if count is not None:
        return int(count)
    model = getattr(method, "model", None)
    if model is not None and hasattr(model, "parameters"):
        return int(sum(p.numel() for p in model.parameters()))
    return None


def _recorded_label(run_dir: Path) -> str | None:
    try:
        label = read_run_config(run_dir).get("label")
    except DisbenchError:
        return None
    return str(label) if label else None


def relabel(run_dir: str | Path, label: str) -> None:
    """Set the label of the run in ``run_dir`` (config.yaml rewritten atomically; scores untouched)."""
    from disbench.store.atomic import write_yaml
    from disbench.store import CONFIG

    label = check_label(label)
    config = read_run_config(Path(run_dir))
    write_yaml(Path(run_dir) / CONFIG, {**config, "label": label})


def load_run(run_dir: str | Path, device: str = "cpu", step: int | None = None):
    """The finished run in ``run_dir``: (spec, dataset, method with its trained state).

    Args:
        step: a kept checkpoint's step (``save_at``; :func:`disbench.store.kept_steps`); None:
            the final checkpoint.
    """
    from disbench import training
    from disbench.store import kept_checkpoint, kept_steps

    run_dir = Path(run_dir)
    spec = RunSpec.from_dict(read_run_config(run_dir))
    state = read_status(run_dir).get("state")
    if state == CORRUPT_STATUS:
        raise DisbenchError(corrupt_status_message(run_dir))
    if state != "finished":
        raise DisbenchError(f"run {run_dir.name!r} has not finished training; run `disbench train` for it first.")
    if step is None:
        path = run_dir / training.CHECKPOINT
    elif step in kept_steps(run_dir):
        path = kept_checkpoint(run_dir, step)
    else:
        kept = ", ".join(map(str, kept_steps(run_dir))) or "none"
        raise UsageError(f"run {run_dir.name!r} kept no checkpoint of step {step} (kept: {kept}); train with --save-at.")
    dataset = build_dataset(spec.dataset, spec.dataset_config)
    method = build_method(spec, dataset, device)
    state = training.load_checkpoint(path, device)
    method.load_state_dict(state["method"])
    return spec, dataset, method
