"""The shared training loop of every gradient-trained method.

Reads top to bottom: distributed set-up, seeding, resume from the last checkpoint,
the step loop, checkpoints. Single process::

    disbench train --method beta-vae --dataset synthetic --steps 2000

Several processes on one machine (``torchrun`` sets RANK, LOCAL_RANK and WORLD_SIZE;
each rank seeds with ``seed + rank`` and only rank 0 writes, :mod:`disbench.methods.distributed`)::

    torchrun --nproc_per_node 4 -m disbench train --method multispace --dataset color-dsprites

A checkpoint (:mod:`disbench.training.checkpoints`) is written every ``checkpoint_every``
steps, at the end, and when SIGINT or SIGTERM arrives (:mod:`disbench.training.step_loop`).

The loop costs what a bare loop costs: losses stay on the device and are read every
SYNC_EVERY steps (log lines, NaN check, progress), never once a step; on CPU the first
step's FLOPs decide between one thread and all of them (:mod:`disbench.training.threads`),
and the checkpoint keeps that choice so that a resumed run sums its floats in the same order.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from disbench.errors import DisbenchError
from disbench.methods.distributed import average_gradients, init_distributed
from disbench.progress import NullProgress, Progress
from disbench.training.checkpoints import CHECKPOINT, keep_checkpoint, restore_checkpoint, save_checkpoint
from disbench.training.collapse import CollapseWatch, collapse_stretches
from disbench.training.run_log import LOG, prepare_log, read_log
from disbench.training.step_loop import StepLoop
from disbench.training.threads import choose_cpu_threads

#: copies of a batch's data alive in a step: sampled factors and observations, their tensors, views
BATCH_DATA_COPIES = 8


@dataclass
class TrainingOutcome:
    #: "trained" (from scratch), "resumed" (from a checkpoint) or "finished" (nothing left to do)
    status: str
    start_step: int
    steps: int
    seconds: float
    final_logs: dict[str, float]
    #: torch's intra-op threads of every CPU step (None on a GPU): what the float sums depend on
    cpu_threads: int | None = None
    #: stretches where the run sat at its collapsed loss (see :mod:`disbench.training.collapse`); None: not watched
    collapse: list[dict[str, int]] | None = None



def with_initial_lr(optimizer: Any) -> Any:
    """``optimizer`` with each group's base learning rate kept as ``initial_lr`` (schedules scale it)."""
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    return optimizer



def nonfinite_loss_message(loss: float, step: int, last_saved: int) -> str:
    checkpoint_note = f"the checkpoint of step {last_saved} is kept" if last_saved > 0 else "no checkpoint was written"
    return (
        f"loss became {loss} at step {step}; {checkpoint_note}. "
        "Lower the learning rate (--set lr=...) and rerun with --overwrite."
    )



def check_batch_memory(method: Any) -> None:
    """Refuse, before the run folder is made, a batch whose data alone would not fit in memory."""
    from disbench.provenance import require_memory

    batch = int(getattr(method.config, "batch_size", 0) or 0)
    dataset = method.dataset
    per_example = (math.prod(dataset.observation_shape) + len(dataset.factors)) * 8
    require_memory(
        batch * per_example * BATCH_DATA_COPIES,
        f"batch_size {batch:,} of {method.name} on {dataset.name}",
        "lower --set batch_size",
    )



def seed_everything(seed: int) -> np.random.Generator:
    import torch

    torch.manual_seed(seed)
    return np.random.default_rng(seed)



def run_training_loop(
    method: Any,
    steps: int,
    run_dir: Path,
    progress: Progress | None = None,
    resume: bool = True,
) -> TrainingOutcome:
    """Train ``method`` (a TorchMethod) for ``steps`` steps, checkpointing into ``run_dir``.

    Raises:
        DisbenchError: the loss became NaN or infinite (the last good checkpoint is kept).
        TrainingInterrupted: SIGINT/SIGTERM; a checkpoint of the last finished step was written.
    """
    import torch

    progress = progress or NullProgress()
    dist = init_distributed(method.device)
    run_dir = Path(run_dir)
    checkpoint_path = run_dir / CHECKPOINT
    log_path = run_dir / LOG
    config = method.config
    save_at = set(getattr(config, "save_at", ()))

    rng = seed_everything(method.seed + dist.rank)
    optimizer = with_initial_lr(method.configure_optimizer())
    start_step = 0
    cpu_threads: int | None = None
    if resume and checkpoint_path.is_file():
        start_step, cpu_threads = restore_checkpoint(checkpoint_path, method, optimizer, rng)
    if dist.is_main:
        prepare_log(run_dir, start_step, save_at)
    status = "resumed" if start_step > 0 else "trained"
    if start_step >= steps:
        return TrainingOutcome("finished", start_step, steps, 0.0, {}, cpu_threads)

    method.model.train()
    started = time.perf_counter()
    probe = method.collapse_probe()
    watch = CollapseWatch(probe, steps) if probe is not None else None
    task = progress.task(f"train {method.name}", total=steps, completed=start_step)
    logs: dict[str, float] = {}
    last_saved = start_step
    pending_log: list[str] = []
    # losses stay on the device until read SYNC_EVERY steps at once: no host sync per step
    unread: list[tuple[int, float, Any]] = []
    loss_names: list[str] = []

    def read_losses() -> None:
        """Log, check and show the unread steps' losses (one host transfer)."""
        nonlocal logs
        if not unread:
            return
        values = torch.stack([vector for _, _, vector in unread]).cpu().tolist()
        for (step, lr, _), row in zip(unread, values):
            logs = dict(zip(loss_names, row))
            if not math.isfinite(logs["loss"]):
                unread.clear()
                raise DisbenchError(nonfinite_loss_message(logs["loss"], step, last_saved))
            if dist.is_main:
                pending_log.append(json.dumps({"step": step, **logs, "lr": lr}) + "\n")
            if watch is not None and (message := watch.update(step, logs)) is not None:
                progress.message(f"{method.name}: {message}")
        collapsed = {"collapsed": watch.status} if watch is not None and watch.status else {}
        task.advance(len(unread), loss=logs["loss"], **collapsed)
        unread.clear()

    def checkpoint(step_done: int) -> None:
        nonlocal last_saved
        read_losses()  # a NaN raises here, before a poisoned state could be saved
        if dist.is_main:
            if pending_log:
                with log_path.open("a") as handle:
                    handle.writelines(pending_log)
                pending_log.clear()
            save_checkpoint(checkpoint_path, method, optimizer, step_done, rng, loop.cpu_threads)
            if step_done in save_at and step_done < steps:  # the last step's checkpoint is the final one
                keep_checkpoint(run_dir, step_done)
        last_saved = step_done

    def train_step(step: int) -> None:
        lr_scale = method.lr_scale(step, steps)
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"] * lr_scale
        losses = method.training_step(step, rng)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        if dist.enabled and not method.synchronises_gradients:
            average_gradients(method.model, dist.world_size)
        detached = {k: v.detach() for k, v in losses.items()}
        method.before_optimizer_step(step, detached, lr_scale)
        optimizer.step()
        if not loss_names:
            loss_names.extend(detached)
        # a method's before_optimizer_step may log plain numbers (e.g. a schedule's value) beside
        # the device tensors; as_tensor moves them without a host synchronisation
        device = losses["loss"].device
        vector = torch.stack([torch.as_tensor(detached[k], device=device).reshape(()).float() for k in loss_names])
        unread.append((step, optimizer.param_groups[0]["lr"], vector))

    def choose_threads(available: int) -> int:
        threads = choose_cpu_threads(method, optimizer, start_step, rng, train_step, available)
        unread.clear()  # the counted step's losses: that step is taken again by the loop
        return threads

    loop = StepLoop(
        steps, config.checkpoint_every, save_at, cpu_threads, on_cpu=str(method.device) == "cpu",
        choose_threads=choose_threads,
    )
    loop.run(start_step, train_step, checkpoint, read_losses, lambda: len(unread), task)
    task.close()
    collapse = None
    if probe is not None and dist.is_main:
        logged = [entry for entry in read_log(log_path) if probe.key in entry]
        collapse = collapse_stretches([e["step"] for e in logged], [e[probe.key] for e in logged], probe, steps)
    return TrainingOutcome(status, start_step, steps, time.perf_counter() - started, logs, loop.cpu_threads, collapse)
