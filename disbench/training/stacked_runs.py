"""Training a list of runs, stacked where their method can stack (:mod:`disbench.training.stacking`).

Runs that share everything but the seed and their method's ``stackable`` numbers form one
group (:func:`stack_groups`); each group trains as one :class:`~disbench.training.stacking.Stack`
in one step loop, and every member keeps the run folder, log and checkpoints of its single
run. A member whose loss turns NaN or infinite is recorded failed and leaves the stack; the
others go on. Runs of a method that cannot stack (:func:`cannot_stack`) train one by one.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from disbench.errors import DisbenchError, UsageError
from disbench.progress import NullProgress, Progress
from disbench.store import RunSpec, canonical_json
from disbench.training.stacking import Member, Stack, open_member


def stack_key(spec: RunSpec, stackable: tuple[str, ...]) -> str:
    """What the members of one stack share: everything but the seed and the stackable numbers."""
    shared = {k: v for k, v in spec.method_config.items() if k not in stackable}
    return canonical_json([spec.method, spec.dataset, spec.steps, shared, spec.dataset_config])


@dataclass
class StackedResult:
    run_dir: Path
    #: "trained", "resumed", "skipped" (already finished) or "failed"
    status: str
    train_seconds: float
    error: str = ""


def cannot_stack(method_cls: type) -> str | None:
    """Why the runs of ``method_cls`` cannot train stacked; None when they can."""
    from disbench.methods.base import TorchMethod

    if not method_cls.trainable:
        return "it is fitted in one call, not trained by steps"
    if method_cls.stackable is None:
        return method_cls.unstackable_reason
    if method_cls.before_optimizer_step is not TorchMethod.before_optimizer_step:
        return "it changes its own state between backward and the optimiser step"
    return None


def stack_groups(specs: Sequence[RunSpec]) -> list[list[int]]:
    """Indices of ``specs`` grouped by :func:`stack_key`, in the order of their first run; a run
    whose method cannot stack is a group of its own."""
    from disbench.methods import METHODS

    groups: dict[str, list[int]] = {}
    for index, spec in enumerate(specs):
        method_cls = METHODS.get(spec.method)
        key = f"alone:{index}" if cannot_stack(method_cls) else stack_key(spec, method_cls.stackable)
        groups.setdefault(key, []).append(index)
    return list(groups.values())


def train_many(
    specs: list[RunSpec],
    runs_dir: str | Path = "runs",
    device: str = "auto",
    overwrite: bool = False,
    progress: Progress | None = None,
    labels: Sequence[str | None] | None = None,
    wait: bool = False,
    info: Any = None,
) -> list[StackedResult]:
    """Train ``specs``: stacked where their method can stack, one by one where it cannot.

    Each group of :func:`stack_groups` is one stacked model. A member that fails (NaN loss)
    is reported in its result and does not stop the others.

    Args:
        labels: each run's label (None: none).
        info: called with one line of text for the user (a method that cannot stack).

    Raises:
        TrainingInterrupted: SIGINT/SIGTERM; every member was checkpointed.
        RunLocked: another process trains one of the runs and ``wait`` is false.
    """
    from disbench import training
    from disbench.training import runs
    from disbench.methods import METHODS
    from disbench.provenance import resolve_device
    from disbench.store.run_lock import RunLock

    progress = progress or NullProgress()
    device = resolve_device(device)
    labels = list(labels) if labels is not None else [None] * len(specs)
    if training.distributed_info().enabled:
        raise UsageError("stacked training runs in one process; launch it without torchrun.")
    results: dict[int, StackedResult] = {}
    told: set[str] = set()
    for indices in stack_groups(specs):
        spec = specs[indices[0]]
        reason = cannot_stack(METHODS.get(spec.method))
        if reason:
            if spec.method not in told and info is not None and len(specs) > 1:
                told.add(spec.method)
                info(f"{spec.method} cannot train stacked ({reason}); its runs train one by one.")
            result = runs.train_run(spec, runs_dir, device, overwrite, progress, label=labels[indices[0]], wait=wait)
            results[indices[0]] = StackedResult(result.run_dir, result.status, result.train_seconds)
            continue
        with ExitStack() as locks:
            opened: list[tuple[int, Any]] = []
            try:
                for index in indices:
                    run_dir = runs.run_dir_for(runs_dir, specs[index])
                    locks.enter_context(RunLock(run_dir, wait=wait))
                    run = runs.open_run(specs[index], run_dir, device, overwrite, labels[index])
                    if isinstance(run, runs.TrainResult):
                        results[index] = StackedResult(run.run_dir, run.status, run.train_seconds)
                    else:
                        opened.append((index, run))
            except BaseException:
                for _, run in opened:  # opened but never trained: not "running" any more
                    run.interrupted()
                raise
            if opened:
                for index, result in zip([i for i, _ in opened], train_stack([r for _, r in opened], progress)):
                    results[index] = result
    return [results[i] for i in range(len(specs))]


def train_stack(runs: list[Any], progress: Progress) -> list[StackedResult]:
    """Train the opened runs (:func:`disbench.training.runs.open_run`) of one stack; ends every run's status."""
    results: dict[int, StackedResult] = {}
    try:
        members = [open_member(run) for run in runs]
    except Exception as exc:
        for run in runs:
            run.failed(exc)
        raise
    by_start: dict[int, list[Member]] = {}
    for member in members:
        by_start.setdefault(member.start_step, []).append(member)
    try:
        for group in by_start.values():
            _train_group(group, progress, results)
    except BaseException:
        for member in members:  # groups that never started are not "running" any more
            if id(member.run) not in results and member.start_step != group[0].start_step:
                member.run.interrupted()
        raise
    return [results[id(run)] for run in runs]


def _train_group(members: list[Member], progress: Progress, results: dict[int, StackedResult]) -> None:
    import torch

    from disbench import training

    template = members[0].method
    config, steps = template.config, members[0].run.spec.steps
    save_at = set(config.save_at)
    start_step = members[0].start_step
    status = "resumed" if start_step > 0 else "trained"
    alive = list(members)
    if start_step >= steps:
        for member in alive:
            results[id(member.run)] = StackedResult(member.run.run_dir, status, 0.0)
            member.run.finished(status)
        return
    cpu_threads = members[0].cpu_threads
    for member in alive:
        member.method.model.train()
    stack = Stack(alive)
    loss_names: list[str] = []
    unread: list[tuple[int, float, Any]] = []
    task = progress.task(f"train {len(alive)} x {template.name} stacked", total=steps, completed=start_step)
    started = time.perf_counter()

    def fail(member: Member, message: str) -> None:
        member.run.failed(DisbenchError(message))
        results[id(member.run)] = StackedResult(member.run.run_dir, "failed", time.perf_counter() - started, message)

    def read_losses() -> None:
        """Log each member's unread losses; a member whose loss is not finite fails and leaves the stack."""
        nonlocal stack, alive
        if not unread:
            return
        values = torch.stack([v for _, _, v in unread]).cpu().tolist()  # (steps, members, losses)
        survivors = []
        for i, member in enumerate(alive):
            lines = []
            for (step, lr, _), row in zip(unread, values):
                logs = dict(zip(loss_names, row[i]))
                if not math.isfinite(logs["loss"]):
                    fail(member, training.nonfinite_loss_message(logs["loss"], step, member.last_saved))
                    break
                lines.append(json.dumps({"step": step, **logs, "lr": lr}) + "\n")
            else:
                member.pending_log.extend(lines)
                survivors.append(i)
        loss_index = loss_names.index("loss")
        task.advance(len(unread), loss=float(np.mean([values[-1][i][loss_index] for i in survivors])) if survivors else math.nan)
        unread.clear()
        if len(survivors) < len(alive):
            stack.write_back()
            alive = [alive[i] for i in survivors]
            stack = Stack(alive) if alive else None

    def checkpoint(step_done: int) -> None:
        read_losses()  # a failing member leaves before a poisoned state could be saved
        if stack is None:
            return
        stack.write_back()
        for member in alive:
            log_path = member.run.run_dir / training.LOG
            if member.pending_log:
                with log_path.open("a") as handle:
                    handle.writelines(member.pending_log)
                member.pending_log.clear()
            training.save_checkpoint(member.run.run_dir / training.CHECKPOINT, member.method, member.optimizer,
                                     step_done, member.rng, loop.cpu_threads, member.generator)
            if step_done in save_at and step_done < steps:
                training.keep_checkpoint(member.run.run_dir, step_done)
            member.last_saved = step_done

    def stacked_step(step: int) -> None:
        lr_scale = template.lr_scale(step, steps)
        for group in stack.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * lr_scale
        unread.append((step, stack.optimizer.param_groups[0]["lr"], stack.losses(step, loss_names)))

    loop = training.StepLoop(steps, config.checkpoint_every, save_at, cpu_threads, on_cpu=str(template.device) == "cpu")
    try:
        loop.run(start_step, stacked_step, checkpoint, read_losses, lambda: len(unread), task,
                 saved=lambda: f"checkpoint of {len(alive)} stacked runs saved", going=lambda: stack is not None)
    except training.TrainingInterrupted:
        for member in alive:
            member.run.interrupted()
        raise
    except BaseException as exc:
        for member in alive:
            if isinstance(exc, KeyboardInterrupt):
                member.run.interrupted()
            else:
                member.run.failed(exc)
        raise
    task.close()
    for member in alive:
        outcome = member.run.finished(status)
        results[id(member.run)] = StackedResult(outcome.run_dir, status, outcome.train_seconds)
