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

from disbench.store.atomic import atomic_path, write_text
from disbench.errors import DisbenchError
from disbench.training.collapse import CollapseWatch, collapse_stretches
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
    #: stretches where the run sat at its collapsed loss (see :mod:`disbench.training.collapse`); None: not watched
    collapse: list[dict[str, int]] | None = None


def training_state(
    method: Any, optimizer: Any, step: int, rng: np.random.Generator, cpu_threads: int | None = None,
    generator: Any = None,
) -> dict[str, Any]:
    """Everything a checkpoint holds: what the next step needs to continue bit for bit.

    Args:
        generator: the torch generator of the run's noise (a stacked run's member); None: torch's
            global generators, which a single run draws from. Either way the state looks the same.
    """
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
    if generator is not None and generator.device.type == "cpu":
        state["torch_rng"] = generator.get_state()
    elif generator is not None:
        state["cuda_rng"][generator.device.index or 0] = generator.get_state()
    return state


def restore_training_state(
    state: dict[str, Any], method: Any, optimizer: Any, rng: np.random.Generator, generator: Any = None
) -> None:
    """Put ``method``, ``optimizer`` and the RNGs back where :func:`training_state` found them."""
    import torch

    method.load_state_dict(state["method"])
    if state["optimizer"]:
        optimizer.load_state_dict(state["optimizer"])
    rng.bit_generator.state = json.loads(state["numpy_rng"])
    if generator is not None and generator.device.type == "cpu":
        generator.set_state(state["torch_rng"].cpu())
    elif generator is not None:
        if "cuda_rng" in state:
            generator.set_state(state["cuda_rng"][generator.device.index or 0].cpu())
    else:
        torch.set_rng_state(state["torch_rng"].cpu())
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])


def save_checkpoint(
    path: Path, method: Any, optimizer: Any, step: int, rng: np.random.Generator, cpu_threads: int | None = None,
    generator: Any = None,
) -> None:
    """Write :func:`training_state` atomically."""
    import torch

    state = training_state(method, optimizer, step, rng, cpu_threads, generator)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def restore_checkpoint(
    path: Path, method: Any, optimizer: Any, rng: np.random.Generator, generator: Any = None
) -> tuple[int, int | None]:
    """Load a checkpoint written by :func:`save_checkpoint` into the run's objects.

    Returns ``(step, cpu_threads)``: the step to continue from and the CPU threads the run
    started with (None if not recorded). ``generator`` as in :func:`save_checkpoint`.
    """
    state = load_checkpoint(path, method.device)
    restore_training_state(state, method, optimizer, rng, generator)
    return int(state["step"]), state.get("cpu_threads")


def prepare_log(run_dir: Path, start_step: int, save_at: set[int]) -> None:
    """Make a run folder consistent with the checkpoint it resumes from: drop later log lines and
    copy a ``save_at`` checkpoint that a kill left uncopied."""
    truncate_log(Path(run_dir) / LOG, start_step)
    if start_step in save_at and not kept_checkpoint(run_dir, start_step).is_file():
        keep_checkpoint(run_dir, start_step)  # killed between the checkpoint and its copy


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
        raise DisbenchError(f"checkpoint {str(path)!r} is corrupt or unreadable ({type(exc).__name__}); {RETRAIN}") from None
    if not isinstance(state, dict) or "method" not in state or "step" not in state:
        raise DisbenchError(f"checkpoint {str(path)!r} is not a disbench checkpoint; {RETRAIN}")
    return state


#: what to do about a damaged checkpoint, whichever command met it (eval's --overwrite rescores, it does not retrain)
RETRAIN = "train the run afresh: its `disbench train` command with --overwrite."


def check_checkpoint_intact(path: Path) -> None:
    """Raise DisbenchError when a checkpoint is missing or damaged, without loading it: every
    member of torch's zip archive is read and checked against its CRC."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except FileNotFoundError:
        raise DisbenchError(f"checkpoint {str(path)!r} is missing; {RETRAIN}") from None
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise DisbenchError(f"checkpoint {str(path)!r} is corrupt or unreadable ({type(exc).__name__}); {RETRAIN}") from None
    if damaged is not None:
        raise DisbenchError(f"checkpoint {str(path)!r} is corrupt (its part {damaged!r} fails its checksum); {RETRAIN}")


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


def first_step_threads(run_step: Callable[[], Any], available: int) -> int:
    """Take a fresh run's first step and return the CPU threads of the rest: the step is
    counted (at the ``available`` default threads) when there is a choice to make."""
    if available > 1:
        return cpu_threads_for(step_flops(run_step), available)
    run_step()
    return 1


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


#: copies of a batch's data alive in a step: sampled factors and observations, their tensors, views
BATCH_DATA_COPIES = 8


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


class StepLoop:
    """The step loop of a run (or of a stack of runs, :mod:`disbench.training.stacking`).

    Takes the steps from ``start_step`` to ``steps``; on CPU a fresh run's threads are chosen
    before its first step by ``choose_threads(available)`` (a single run counts its first step
    and undoes it, :func:`choose_cpu_threads`, so every step runs on the chosen threads), or
    else by the first step itself (:func:`first_step_threads`); ``cpu_threads`` is that
    choice, kept for the checkpoints. Checkpoints every ``checkpoint_every`` steps, at
    ``save_at`` steps and at the end; reads the losses every SYNC_EVERY steps in between;
    and on SIGINT/SIGTERM checkpoints and raises TrainingInterrupted.
    """

    def __init__(
        self, steps: int, checkpoint_every: int, save_at: set[int], cpu_threads: int | None, on_cpu: bool,
        choose_threads: Callable[[int], int] | None = None,
    ) -> None:
        self.steps, self.checkpoint_every, self.save_at = steps, checkpoint_every, save_at
        self.cpu_threads, self.on_cpu, self.choose_threads = cpu_threads, on_cpu, choose_threads

    def run(
        self,
        start_step: int,
        take_step: Callable[[int], None],
        checkpoint: Callable[[int], None],
        read_losses: Callable[[], None],
        unread: Callable[[], int],
        task: Any,
        saved: Callable[[], str] = lambda: "checkpoint saved",
        going: Callable[[], bool] = lambda: True,
    ) -> None:
        """Args:
            unread: how many steps' losses are unread.
            saved: what the interruption message says was saved.
            going: False stops the loop early (every member of a stack failed).
        """
        import torch

        threads_before = torch.get_num_threads()
        try:
            with _StopFlag() as stop:
                if self.on_cpu and self.cpu_threads is None and self.choose_threads is not None:
                    self.cpu_threads = self.choose_threads(threads_before)
                if self.on_cpu and self.cpu_threads is not None:
                    torch.set_num_threads(self.cpu_threads)
                for step in range(start_step, self.steps):
                    if not going():
                        break
                    if self.on_cpu and self.cpu_threads is None:
                        self.cpu_threads = first_step_threads(lambda: take_step(step), threads_before)
                        torch.set_num_threads(self.cpu_threads)
                    else:
                        take_step(step)
                    done = step + 1
                    if stop.signal_name is not None:
                        checkpoint(done)
                        task.close()
                        raise TrainingInterrupted(
                            f"{stop.signal_name} received: {saved()} at step {done}/{self.steps}; "
                            "run the same command again to resume."
                        )
                    if done % self.checkpoint_every == 0 or done == self.steps or done in self.save_at:
                        checkpoint(done)
                    elif unread() >= SYNC_EVERY:
                        read_losses()
        finally:
            torch.set_num_threads(threads_before)


def cosine_lr_scale(step: int, total_steps: int, warmup_steps: int = 0, end_ratio: float = 0.0) -> float:
    """Linear warm-up then cosine decay from 1 to ``end_ratio``, as a multiplier of the base learning rate."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return end_ratio + (1.0 - end_ratio) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
