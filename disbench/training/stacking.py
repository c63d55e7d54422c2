"""Many runs of one method trained as one stacked model (``torch.func``).

A study's runs of one (method, dataset, architecture, steps) differ only in seed and in
numbers inside the loss (beta, gamma, c_max, lambda_od...). Their parameters are stacked
along a new first dimension (``stack_module_state``), one step evaluates every member's
loss at once (``vmap`` over ``functional_call``; convolutions become grouped ones), and one
optimiser steps the stacked tensors. Adam works element by element, so one Adam over the
stack is every member's own Adam. Command line::

    disbench train -m beta-vae -d dsprites --seeds 0-3 --set beta=1,2

Each member stays a run of its own: its data come from its own NumPy generator and its
noise from its own torch generator, seeded as its single run seeds them, so its losses
are its single run's up to float rounding; its folder (config.yaml, status.json,
checkpoint.pt, log.jsonl) is written by the single run's writers
(:func:`disbench.training.runs.open_run`, :func:`disbench.training.save_checkpoint`), so ``eval``,
``report``, ``--status`` and resuming (stacked or alone) read it as any run. A member
whose loss turns NaN or infinite is recorded failed and leaves the stack; the others go
on. A method declares what may differ with ``TorchMethod.stackable``; one whose step
cannot be stacked (None) says why and its runs train one by one.
"""

from __future__ import annotations

import json
import math
import re
import time
import typing
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from disbench.errors import DisbenchError, UsageError
from disbench.progress import NullProgress, Progress
from disbench.store import RunSpec, canonical_json

#: optimisers whose update of a tensor is the update of each of its slices (so of each member)
ELEMENTWISE_OPTIMIZERS = ("Adam", "AdamW", "SGD")


def parse_seeds(text: str) -> list[int]:
    """``"0-3,7"`` -> ``[0, 1, 2, 3, 7]`` (ranges inclusive, order kept, repeats dropped)."""
    from disbench.training.runs import check_seed

    seeds: dict[int, None] = {}  # ordered, without repeats
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise UsageError(f"--seeds expects numbers and ranges such as 0-49 or 0,3,7; got {text!r}.")
        first = check_seed(match.group(1), "--seeds")
        last = check_seed(match.group(2), "--seeds") if match.group(2) else first
        if last < first:
            raise UsageError(f"--seeds range {part.strip()!r} runs backwards; write it as {last}-{first}.")
        seeds.update(dict.fromkeys(range(first, last + 1)))
    return list(seeds)


def _numeric_field(key: str, method: str, dataset: str) -> bool:
    """Whether ``--set key`` names a number (int or float) of the method or the dataset."""
    from disbench.datasets import DATASETS
    from disbench.methods import METHODS

    scope, dot, bare = key.partition(".")
    configs = {"method": METHODS.get(method).Config, "dataset": DATASETS.get(dataset).Config}
    candidates = [configs[scope]] if dot and scope in configs else list(configs.values())
    name = bare if dot and scope in configs else key
    for config in candidates:
        hints = typing.get_type_hints(config)
        if name in hints:
            return hints[name] in (int, float)
    return False


def sweep_specs(
    method: str, dataset: str, seeds: list[int], steps: int | None, overrides: dict[str, str]
) -> list[RunSpec]:
    """The runs of a sweep: every seed times every combination of comma-separated numbers.

    ``--set beta=1,2`` lists two values of a number; other values (``save_at=1000,3000``, a
    tuple) are passed on whole.
    """
    import itertools

    from disbench.training.runs import resolve_run_spec

    swept = {
        key: [v.strip() for v in value.split(",")]
        for key, value in overrides.items()
        if "," in value and _numeric_field(key, method, dataset)
    }
    fixed = {key: value for key, value in overrides.items() if key not in swept}
    specs = []
    for values in itertools.product(*swept.values()):
        for seed in seeds:
            specs.append(resolve_run_spec(method, dataset, seed, steps, {**fixed, **dict(zip(swept, values))}))
    return specs


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


def train_many(
    specs: list[RunSpec],
    runs_dir: str | Path = "runs",
    device: str = "auto",
    overwrite: bool = False,
    progress: Progress | None = None,
    label: str | None = None,
    wait: bool = False,
    info: Any = None,
) -> list[StackedResult]:
    """Train ``specs``: stacked where their method can stack, one by one where it cannot.

    Runs are grouped by :func:`stack_key`; each group is one stacked model. A member
    that fails (NaN loss) is reported in its result and does not stop the others.

    Args:
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
    if training.distributed_info().enabled:
        raise UsageError("stacked training runs in one process; launch it without torchrun.")
    results: dict[int, StackedResult] = {}
    groups: dict[str, list[int]] = {}
    for index, spec in enumerate(specs):
        method_cls = METHODS.get(spec.method)
        if method_cls.trainable and _cannot_stack(method_cls) is None:
            groups.setdefault(stack_key(spec, method_cls.stackable), []).append(index)
        else:
            groups.setdefault(f"alone:{index}", []).append(index)
    told: set[str] = set()
    for key, indices in groups.items():
        if key.startswith("alone:"):
            spec = specs[indices[0]]
            reason = _cannot_stack(METHODS.get(spec.method))
            if reason and spec.method not in told and info is not None and len(specs) > 1:
                told.add(spec.method)
                info(f"{spec.method} cannot train stacked ({reason}); its runs train one by one.")
            result = runs.train_run(spec, runs_dir, device, overwrite, progress, label=label, wait=wait)
            results[indices[0]] = StackedResult(result.run_dir, result.status, result.train_seconds)
            continue
        with ExitStack() as locks:
            opened: list[tuple[int, Any]] = []
            try:
                for index in indices:
                    run_dir = runs.run_dir_for(runs_dir, specs[index])
                    locks.enter_context(RunLock(run_dir, wait=wait))
                    run = runs.open_run(specs[index], run_dir, device, overwrite, label)
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


def _cannot_stack(method_cls: type) -> str | None:
    """Why ``method_cls``'s step cannot be stacked; None when it can."""
    from disbench.methods.base import TorchMethod

    if method_cls.stackable is None:
        return method_cls.unstackable_reason
    if method_cls.before_optimizer_step is not TorchMethod.before_optimizer_step:
        return "it changes its own state between backward and the optimiser step"
    return None


@dataclass
class Member:
    """One run of a stack: its folder and method (whose model and optimiser hold the member's
    state whenever it is checkpointed), its generators and its unwritten log lines."""

    run: Any
    optimizer: Any
    rng: np.random.Generator
    generator: Any
    start_step: int
    cpu_threads: int | None
    pending_log: list[str] = field(default_factory=list)
    last_saved: int = 0

    @property
    def method(self) -> Any:
        return self.run.method


def open_member(run: Any) -> Member:
    """A member continued from its checkpoint (or fresh), with the generators its single run would hold."""
    import torch

    from disbench import training

    method = run.method
    rng = np.random.default_rng(method.seed)
    generator = torch.Generator(device=method.device).manual_seed(method.seed)
    optimizer = training.with_initial_lr(method.configure_optimizer())
    if type(optimizer).__name__ not in ELEMENTWISE_OPTIMIZERS:
        raise DisbenchError(f"{method.name} trains with {type(optimizer).__name__}, which a stack cannot share; "
                            "train its runs one at a time.")
    start_step, cpu_threads = 0, None
    checkpoint = run.run_dir / training.CHECKPOINT
    if checkpoint.is_file():
        start_step, cpu_threads = training.restore_checkpoint(checkpoint, method, optimizer, rng, generator)
    training.prepare_log(run.run_dir, start_step, set(method.config.save_at))
    return Member(run, optimizer, rng, generator, start_step, cpu_threads, last_saved=start_step)


def step_module(method: Any) -> Any:
    """``method.step_losses`` as a module whose only parameters are ``model.*``: ``functional_call``
    swaps a member's parameters in for one call."""
    import torch

    class StepModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = method.model

        def forward(self, step: int, inputs: tuple, hyper: dict) -> dict:
            return method.step_losses(step, inputs, hyper)

    return StepModule()


class Stack:
    """The stacked parameters and optimiser of members that share a step count."""

    def __init__(self, members: list[Member], compile: bool = False) -> None:
        import torch
        from torch.func import functional_call, vmap

        self.members = members
        template = members[0].method
        module = step_module(template)

        def member_losses(params, buffers, member_inputs, hyper, step):
            state = {**{f"model.{k}": v for k, v in params.items()}, **{f"model.{k}": v for k, v in buffers.items()}}
            return functional_call(module, state, (step, member_inputs, hyper))

        self.batched_losses = vmap(member_losses, in_dims=(0, 0, 0, 0, None))
        if compile:
            self.batched_losses = torch.compile(self.batched_losses)
        self.names = [name for name, _ in template.model.named_parameters()]
        with torch.no_grad():
            self.params = {
                name: torch.stack([dict(m.method.model.named_parameters())[name] for m in members]).requires_grad_()
                for name in self.names
            }
            self.buffers = {
                name: torch.stack([dict(m.method.model.named_buffers())[name] for m in members])
                for name, _ in template.model.named_buffers()
            }
        self.hyper = {
            name: torch.tensor([float(getattr(m.method.config, name)) for m in members], dtype=torch.float32,
                               device=template.device)
            for name in template.stackable
        }
        self.optimizer = self._stacked_optimizer()

    def _param_names(self, member: Member) -> list[list[str]]:
        """Each optimiser group's parameters of ``member`` by name."""
        name_of = {id(p): name for name, p in member.method.model.named_parameters()}
        return [[name_of[id(p)] for p in group["params"]] for group in member.optimizer.param_groups]

    def _stacked_optimizer(self) -> Any:
        import torch

        first = self.members[0].optimizer
        groups = [
            {**{k: v for k, v in group.items() if k != "params"}, "params": [self.params[n] for n in names]}
            for group, names in zip(first.param_groups, self._param_names(self.members[0]))
        ]
        optimizer = type(first)(groups)
        for names in self._param_names(self.members[0]):
            for name in names:
                states = [m.optimizer.state[dict(m.method.model.named_parameters())[name]] for m in self.members]
                if states[0]:
                    optimizer.state[self.params[name]] = {
                        key: torch.stack([s[key] for s in states]) if torch.is_tensor(value) and value.dim() > 0
                        else (value.clone() if torch.is_tensor(value) else value)
                        for key, value in states[0].items()
                    }
        return optimizer

    def losses(self, step: int, loss_names: list[str]) -> Any:
        """One step of every member: ``(N, len(loss_names))`` detached losses, still on the device."""
        import torch

        inputs = [m.method.draw_inputs(step, m.rng, m.generator) for m in self.members]
        batched = tuple(torch.stack(parts) for parts in zip(*inputs))
        losses = self.batched_losses(self.params, self.buffers, batched, self.hyper, step)
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].sum().backward()  # members share no parameter: each gets its own gradient
        self.optimizer.step()
        if not loss_names:
            loss_names.extend(losses)
        return torch.stack([losses[k].detach().float() for k in loss_names], dim=1)

    def write_back(self) -> None:
        """Copy each member's slice of the stack into its own model and optimiser (for its checkpoint)."""
        import torch

        with torch.no_grad():
            for i, member in enumerate(self.members):
                own = dict(member.method.model.named_parameters())
                for name in self.names:
                    own[name].copy_(self.params[name][i])
                own_buffers = dict(member.method.model.named_buffers())
                for name, value in self.buffers.items():
                    own_buffers[name].copy_(value[i])
                for group, stacked_group, names in zip(
                    member.optimizer.param_groups, self.optimizer.param_groups, self._param_names(member)
                ):
                    group["lr"] = stacked_group["lr"]
                    for name in names:
                        state = self.optimizer.state.get(self.params[name])
                        if state:
                            member.optimizer.state[own[name]] = {
                                key: value[i].clone() if torch.is_tensor(value) and value.dim() > 0
                                else (value.clone() if torch.is_tensor(value) else value)
                                for key, value in state.items()
                            }


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
