"""Training: the shared gradient loop, its checkpoints and log, and the runs it trains.

- :mod:`~disbench.training.loop`: :func:`run_training_loop`, one method for its steps in a run folder.
- :mod:`~disbench.training.step_loop`: the steps, checkpoint cadence and SIGINT/SIGTERM.
- :mod:`~disbench.training.checkpoints`: what a checkpoint holds; writing, loading, checking it.
- :mod:`~disbench.training.run_log`: the run's ``log.jsonl``.
- :mod:`~disbench.training.threads`: the CPU threads of a run's steps.
- :mod:`~disbench.training.collapse`: watching a self-supervised run for collapse.
- :mod:`~disbench.training.runs`: a run from its spec: resolve, build, train into its folder, load back.
- :mod:`~disbench.training.stacking`: several runs trained as one stacked model.

The distributed helpers (torchrun) live in :mod:`disbench.methods.distributed`, below
training, since methods gather over processes too.
"""

from disbench.methods.distributed import DistributedInfo, average_gradients, distributed_info, init_distributed
from disbench.training.checkpoints import (
    CHECKPOINT,
    RETRAIN,
    check_checkpoint_intact,
    keep_checkpoint,
    load_checkpoint,
    restore_checkpoint,
    restore_training_state,
    save_checkpoint,
    training_state,
)
from disbench.training.loop import (
    TrainingOutcome,
    check_batch_memory,
    nonfinite_loss_message,
    run_training_loop,
    seed_everything,
    with_initial_lr,
)
from disbench.training.run_log import LOG, prepare_log, read_log, truncate_log
from disbench.training.step_loop import SYNC_EVERY, StepLoop, TrainingInterrupted
from disbench.training.threads import CPU_PARALLEL_FLOPS, choose_cpu_threads, cpu_threads_for, first_step_threads

__all__ = [
    "CHECKPOINT", "CPU_PARALLEL_FLOPS", "LOG", "RETRAIN", "SYNC_EVERY", "DistributedInfo", "StepLoop",
    "TrainingInterrupted", "TrainingOutcome", "average_gradients", "check_batch_memory", "check_checkpoint_intact",
    "choose_cpu_threads", "cpu_threads_for", "distributed_info", "first_step_threads", "init_distributed",
    "keep_checkpoint", "load_checkpoint", "nonfinite_loss_message", "prepare_log", "read_log", "restore_checkpoint",
    "restore_training_state", "run_training_loop", "save_checkpoint", "seed_everything", "training_state",
    "truncate_log", "with_initial_lr",
]
