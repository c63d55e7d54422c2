"""How many CPU threads a run's steps take, chosen once from the first step's FLOPs.

The thread count changes the order of float sums, so the choice is kept in the run's
checkpoint: a resumed run sums its floats as the uninterrupted run did.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np

from disbench.training.checkpoints import restore_training_state, training_state

#: a CPU step below this many FLOPs is dominated by per-operation costs that threads only raise
CPU_PARALLEL_FLOPS = 200_000_000


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
    dSprites (6.2 GFLOPs a step) ran 70 ms a step on 2 threads against 115 ms on one,
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
    if available <= 1:
        return 1
    before = copy.deepcopy(training_state(method, optimizer, step, rng))
    flops = step_flops(lambda: train_step(step))
    restore_training_state(before, method, optimizer, rng)
    return cpu_threads_for(flops, available)
