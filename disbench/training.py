"""The shared training loop of every gradient-trained method.

Reads top to bottom: distributed set-up, seeding, resume from the last checkpoint,
the step loop, checkpoints. Single process::

    disbench train --method beta-vae --dataset synthetic --steps 2000

Several processes on one machine (``torchrun`` sets RANK, LOCAL_RANK and WORLD_SIZE;
each rank seeds with ``seed + rank`` and only rank 0 writes)::

    torchrun --nproc_per_node 4 -m disbench train --method multispace --dataset color-dsprites

A checkpoint holds everything needed to continue bit for bit on the same machine:
model, optimiser, step, the data sampler's NumPy state and torch's RNG state. It is
written every ``checkpoint_every`` steps, at the end, and when SIGINT or SIGTERM
arrives; always atomically, so a kill never leaves half a file. The checkpoints of the
``save_at`` steps are also copied to ``checkpoints/step_N.pt`` and kept.

The loop costs what a bare loop costs: losses stay on the device and are read every
SYNC_EVERY steps (log lines, NaN check, progress), never once a step; on CPU the first
step's FLOPs decide between one thread and all of them (:func:`cpu_threads_for`), and
the checkpoint keeps that choice so that a resumed run sums its floats in the same order.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from disbench.atomic import atomic_path, write_text
from disbench.errors import DisbenchError
from disbench.collapse import CollapseWatch, collapse_stretches
from disbench.progress import NullProgress, Progress
from disbench.store import kept_checkpoint

CHECKPOINT = "checkpoint.pt"
#: a CPU step below this many FLOPs is dominated by per-operation costs that threads only raise
CPU_PARALLEL_FLOPS = 200_000_000
#: steps whose losses stay on the device between host reads (log lines, NaN check, progress)
SYNC_EVERY = 25
LOG = "log.jsonl"


class TrainingInterrupted(DisbenchError):
    """SIGINT/SIGTERM arrived; a checkpoint was written and the run can be resumed."""

    exit_code = 130


@dataclass(frozen=True)
class DistributedInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def distributed_info() -> DistributedInfo:
    """Distributed mode as ``torchrun`` describes it in the environment."""
    return DistributedInfo(
        rank=int(os.environ.get("RANK", 0)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
    )


def init_distributed(device: str) -> DistributedInfo:
    """Join the process group when launched by torchrun (no-op otherwise)."""
    info = distributed_info()
    if info.enabled:
        import torch
        import torch.distributed as dist

        if device.startswith("cuda"):
            torch.cuda.set_device(info.local_rank)  # resolve_device already picked cuda:LOCAL_RANK

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return info


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
    #: stretches where the run sat at its collapsed loss (see :mod:`disbench.collapse`); None: not watched
    collapse: list[dict[str, int]] | None = None


def training_state(
    method: Any, optimizer: Any, step: int, rng: np.random.Generator, cpu_threads: int | None = None
) -> dict[str, Any]:
    """Everything a checkpoint holds: what the next step needs to continue bit for bit."""
    import torch

    state = {
        "format": 1,
        "step": step,
        "method": method.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        # the sampler's state holds 128-bit integers: JSON keeps them exact and loadable with weights_only
        "numpy_rng": json.dumps(rng.bit_generator.state),
        "torch_rng": torch.get_rng_state(),
    }
    if cpu_threads is not None:  # a resumed run keeps the threads (and so the float sums) it started with
        state["cpu_threads"] = cpu_threads
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    return state


def restore_training_state(state: dict[str, Any], method: Any, optimizer: Any, rng: np.random.Generator) -> None:
    """Put ``method``, ``optimizer`` and both RNGs back where :func:`training_state` found them."""
    import torch

    method.load_state_dict(state["method"])
    if state["optimizer"]:
        optimizer.load_state_dict(state["optimizer"])
    rng.bit_generator.state = json.loads(state["numpy_rng"])
    torch.set_rng_state(state["torch_rng"].cpu())
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])


def save_checkpoint(
    path: Path, method: Any, optimizer: Any, step: int, rng: np.random.Generator, cpu_threads: int | None = None
) -> None:
    import torch

    state = training_state(method, optimizer, step, rng, cpu_threads)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def keep_checkpoint(run_dir: Path, step: int) -> None:
    """Copy the run's checkpoint (of ``step``) to ``checkpoints/step_<step>.pt``, atomically (``save_at``)."""
    import shutil

    with atomic_path(kept_checkpoint(run_dir, step)) as tmp:
        shutil.copyfile(Path(run_dir) / CHECKPOINT, tmp)


def load_checkpoint(path: Path, device: str = "cpu") -> dict[str, Any]:
    """A checkpoint's contents, loaded without unpickling; a corrupt file is a DisbenchError."""
    import torch

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise DisbenchError(
            f"checkpoint {str(path)!r} is corrupt or unreadable ({type(exc).__name__}); "
            "rerun with --overwrite to train afresh."
        ) from None
    if not isinstance(state, dict) or "method" not in state or "step" not in state:
        raise DisbenchError(
            f"checkpoint {str(path)!r} is not a disbench checkpoint; rerun with --overwrite to train afresh."
        )
    return state


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open() as handle:
        for line in handle:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    return  # a line cut by a kill ends the usable log


def truncate_log(path: Path, keep_before_step: int) -> None:
    """Drop log lines of steps that the checkpoint being resumed has not seen."""
    if path.is_file():
        kept = [json.dumps(e) for e in read_log(path) if e.get("step", -1) < keep_before_step]
        write_text(path, "".join(line + "\n" for line in kept))


def average_gradients(model: Any, world_size: int) -> None:
    """Average every gradient over the torchrun processes, so that all ranks take the same step."""
    import torch.distributed as dist

    for parameter in model.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad)
            parameter.grad /= world_size


class _StopFlag:
    """Turns SIGINT/SIGTERM into a flag the loop checks between steps."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not in the main thread: signals stay with the caller
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal_name = signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def step_flops(run_step: Callable[[], Any]) -> int:
    """Floating-point operations of one call of ``run_step`` (matmuls and convolutions, forward and backward).

    Counting observes the operations without changing them, so the step counted is a real
    training step and its numbers are those of an uncounted one.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        run_step()
    return int(counter.get_total_flops())


def cpu_threads_for(flops: int, available: int) -> int:
    """Threads for a CPU step of ``flops``: one below CPU_PARALLEL_FLOPS, else every available core.

    A step's cost splits into arithmetic, which threads divide, and a fixed cost per operation,
    which every extra thread raises (waking, synchronising). On 2 idle cores dlib's conv VAE on
    dSprites (6.2 GFLOPs a step) ran 70 ms a step on 2 threads against 115 ms on one (issue 13),
    while the synthetic data's beta-VAE MLP (54 MFLOPs) gains nothing from a second thread and
    loses up to 60-fold when other processes compete for the cores. The choice depends on the
    model and the core count only, never on a timing, because the thread count changes float
    sums (multispace on synthetic data: parameters 0.017 apart after 3 steps on 1 vs 2 threads),
    and a run must be a function of its configuration. On a machine oversubscribed by other
    jobs, set OMP_NUM_THREADS=1: ``available`` is torch's thread count.
    """
    return 1 if flops < CPU_PARALLEL_FLOPS else max(1, available)


def choose_cpu_threads(
    method: Any, optimizer: Any, step: int, rng: np.random.Generator, train_step: Callable[[int], None], available: int
) -> int:
    """The threads of a fresh CPU run, from the FLOPs of its first step (:func:`cpu_threads_for`).

    The step is counted on the run's own state and then undone (model, optimiser, both RNGs), so
    that every step of the run, the first included, runs on the chosen threads: a run's numbers
    depend on that choice alone, never on the thread count the process started with.
    """
    import copy

    if available <= 1:
        return 1
    before = copy.deepcopy(training_state(method, optimizer, step, rng))
    flops = step_flops(lambda: train_step(step))
    restore_training_state(before, method, optimizer, rng)
    return cpu_threads_for(flops, available)


def seed_everything(seed: int) -> np.random.Generator:
    import torch

    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def train(
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
    optimizer = method.configure_optimizer()
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    start_step = 0
    cpu_threads: int | None = None
    if resume and checkpoint_path.is_file():
        state = load_checkpoint(checkpoint_path, method.device)
        restore_training_state(state, method, optimizer, rng)
        start_step = int(state["step"])
        cpu_threads = state.get("cpu_threads")
    if dist.is_main:
        truncate_log(log_path, start_step)
        if start_step in save_at and not kept_checkpoint(run_dir, start_step).is_file():
            keep_checkpoint(run_dir, start_step)  # killed between the checkpoint and its copy
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
                checkpoint_note = (
                    f"the checkpoint of step {last_saved} is kept" if last_saved > 0 else "no checkpoint was written"
                )
                raise DisbenchError(
                    f"loss became {logs['loss']} at step {step}; {checkpoint_note}. "
                    "Lower the learning rate (--set lr=...) and rerun with --overwrite."
                )
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
            save_checkpoint(checkpoint_path, method, optimizer, step_done, rng, cpu_threads)
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

    threads_before = torch.get_num_threads()
    on_cpu = str(method.device) == "cpu"
    try:
        with _StopFlag() as stop:
            if on_cpu and cpu_threads is None:
                cpu_threads = choose_cpu_threads(method, optimizer, start_step, rng, train_step, threads_before)
                unread.clear()  # the counted step's losses: that step is taken again below
            if on_cpu:
                torch.set_num_threads(cpu_threads)
            for step in range(start_step, steps):
                train_step(step)
                done = step + 1
                if stop.signal_name is not None:
                    checkpoint(done)
                    task.close()
                    raise TrainingInterrupted(
                        f"{stop.signal_name} received: checkpoint saved at step {done}/{steps}; "
                        "run the same command again to resume."
                    )
                if done % config.checkpoint_every == 0 or done == steps or done in save_at:
                    checkpoint(done)
                elif len(unread) >= SYNC_EVERY:
                    read_losses()
    finally:
        torch.set_num_threads(threads_before)
    task.close()
    collapse = None
    if probe is not None and dist.is_main:
        logged = [entry for entry in read_log(log_path) if probe.key in entry]
        collapse = collapse_stretches([e["step"] for e in logged], [e[probe.key] for e in logged], probe, steps)
    return TrainingOutcome(status, start_step, steps, time.perf_counter() - started, logs, cpu_threads, collapse)


def cosine_lr_scale(step: int, total_steps: int, warmup_steps: int = 0, end_ratio: float = 0.0) -> float:
    """Linear warm-up then cosine decay from 1 to ``end_ratio``, as a multiplier of the base learning rate."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return end_ratio + (1.0 - end_ratio) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
