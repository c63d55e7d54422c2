"""Suite entries on this machine: in this process, or on worker processes that stop with the suite.

The pool is the standard library's; what this module adds is what neither loky nor submitit's
local executor does (tried with a sleeping task): a worker of a suite stopped by SIGTERM gets
SIGTERM itself, so training checkpoints and marks its run interrupted (loky's
``shutdown(kill_workers=True)`` sends SIGKILL; submitit's local job trains on), and a worker dies
with a suite killed by SIGKILL (Linux's parent-death signal; both libraries' workers train on).
``tests/test_bench.py`` checks both with ``bench --jobs 2``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

from disbench.suites.entry import SuiteRunResult
from disbench.suites.stacked import run_batch, stacked_batches
from disbench.suites.suite import Suite, SuiteEntry


class LocalExecutor:
    """Entries in this process, one after another, or on ``jobs`` worker processes sharing the cores.

    Workers share nothing but the run folders (one each) and the leaderboard, whose
    appends are locked, so the outcome is the same as a sequential run.
    """

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs

    def run(
        self,
        suite: Suite,
        entries: list[SuiteEntry],
        runs_dir: str | Path,
        leaderboard: str | Path,
        device: str = "auto",
        overwrite: bool = False,
        progress: Any = None,
    ) -> list[SuiteRunResult]:
        from disbench.progress import NullProgress

        progress = progress or NullProgress()
        task = progress.task(f"suite {suite.name}", total=len(entries))
        results: list[SuiteRunResult] = []
        common = (str(runs_dir), str(leaderboard), device, overwrite)

        def done(result: SuiteRunResult) -> None:
            progress.message(f"{result.run_id}: {result.train_status}, {result.rows} rows")
            results.append(result)
            task.advance(1)

        batches = stacked_batches(suite, entries, suite.stack)
        if self.jobs <= 1:
            for batch in batches:
                for result in run_batch(suite, batch, *common, progress=progress):
                    done(result)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            threads = max(1, len(os.sched_getaffinity(0)) // self.jobs)
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_start_worker) as pool:
                with _stop_workers_on_exit(pool):
                    futures = [pool.submit(_run_batch_in_worker, suite, batch, *common, threads) for batch in batches]
                    for future in as_completed(futures):
                        for result in future.result():
                            done(result)
        task.close()
        return results


def _raise_keyboard_interrupt(signum, frame) -> None:
    """A signal handler that turns SIGTERM into the KeyboardInterrupt that Ctrl-C raises."""
    raise KeyboardInterrupt


def _start_worker() -> None:
    """Initializer of a suite's worker processes.

    SIGTERM raises KeyboardInterrupt until training installs its own handler (which writes
    a checkpoint first), so that a worker stopped at any point marks its run interrupted;
    on Linux the worker also gets SIGTERM when the suite's process dies, even by SIGKILL,
    instead of training on alone.
    """
    import signal
    import sys

    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _run_batch_in_worker(*args: Any) -> list[SuiteRunResult]:
    """:func:`run_batch` in a worker process, which exits when its entries are interrupted.

    An interruption means the suite is stopping (or has died): the run is already marked
    interrupted, and a worker left waiting for its next entry would never be told to exit.
    """
    from disbench.training import TrainingInterrupted

    try:
        return run_batch(*args)
    except (KeyboardInterrupt, TrainingInterrupted):
        os._exit(130)


@contextlib.contextmanager
def _stop_workers_on_exit(pool) -> Iterator[None]:
    """Stop ``pool``'s worker processes when the suite stops early (SIGTERM, Ctrl-C, an error).

    SIGTERM sent to this process alone (``kill PID``, a job scheduler) would end it at once
    and leave its workers training; here it becomes a KeyboardInterrupt, and every worker
    gets SIGTERM, on which training writes a checkpoint and stops (the run resumes later).
    Pending entries are cancelled.
    """
    import signal

    try:
        previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    except ValueError:  # not the main thread: the caller owns the signals
        previous = None
    try:
        yield
    except BaseException:
        # the executor keeps its worker processes in a private mapping; it has no public stop
        for process in list(getattr(pool, "_processes", {}).values()):
            if process.is_alive():
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)



def run_suite(
    suite: Suite,
    runs_dir: str | Path,
    leaderboard: str | Path,
    device: str = "auto",
    overwrite: bool = False,
    jobs: int = 1,
    progress: Any = None,
    indices: Sequence[int] | None = None,
) -> list[SuiteRunResult]:
    """Every entry (or ``indices``) in this process or on ``jobs`` local processes."""
    return LocalExecutor(jobs).run(suite, suite.select(indices), runs_dir, leaderboard, device, overwrite, progress)


