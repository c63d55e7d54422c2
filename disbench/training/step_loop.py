"""The step loop shared by a single run and a stack of runs: steps, checkpoints, signals.

SIGINT and SIGTERM become a flag the loop checks between steps: the step in progress
finishes, a checkpoint is written, and :class:`TrainingInterrupted` tells the caller
that the same command resumes the run.
"""

from __future__ import annotations

import signal
from typing import Any, Callable

from disbench.errors import DisbenchError
from disbench.training.threads import first_step_threads

#: steps whose losses stay on the device between host reads (log lines, NaN check, progress)
SYNC_EVERY = 25


class TrainingInterrupted(DisbenchError):
    """SIGINT/SIGTERM arrived; a checkpoint was written and the run can be resumed."""

    exit_code = 130


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
