"""One trainer per run folder: an operating-system lock on the folder's ``train.lock``.

Two ``disbench train`` commands on the same run would both train and interleave the log
and checkpoints. The first holds an exclusive lock on ``train.lock`` (``filelock``:
``flock`` on Unix); the operating system releases it when the holder ends, however it
ends (SIGKILL, power loss), so a killed trainer leaves nothing to clean up. The second is
told who trains the run, from the holder its status.json records
(:func:`disbench.store.jobs.describe_holder`), and fails or waits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

from disbench.errors import DisbenchError
from disbench.store import read_status
from disbench.store.jobs import describe_holder

LOCK_FILE = "train.lock"
#: how the message names a holder that took the lock and has not written status.json yet
STARTING_HOLDER = "another process that is starting it"


class RunLocked(DisbenchError):
    """Another live process is training this run (exit 1)."""


def lock_holder(run_dir: str | Path) -> str:
    """Who holds the training lock of ``run_dir``, for a person."""
    return describe_holder(read_status(Path(run_dir))) or STARTING_HOLDER


class RunLock:
    """Hold the training lock of ``run_dir`` for the duration of a ``with`` block.

    Args:
        run_dir: the run folder (created if missing; removed again if the block left it
            holding nothing but the lock).
        wait: block until the holder releases the lock instead of raising RunLocked.
        on_wait: called once with the holder's description when waiting starts (to tell the user).
        poll_seconds: how often a waiting process tries again.
    """

    def __init__(self, run_dir: str | Path, wait: bool = False,
                 on_wait: Callable[[str], None] | None = None, poll_seconds: float = 0.5) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self.wait = wait
        self.on_wait = on_wait
        self.poll_seconds = poll_seconds
        self._lock: FileLock | None = None

    def __enter__(self) -> "RunLock":
        told = False
        while True:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            lock = FileLock(self.path)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                holder = lock_holder(self.run_dir)
                if not self.wait:
                    raise RunLocked(
                        f"run {self.run_dir.name!r} is being trained by {holder}; wait for it (add --wait) "
                        "or stop that process."
                    ) from None
                if not told and self.on_wait is not None:
                    self.on_wait(holder)
                    told = True
                try:
                    lock.acquire(timeout=self.poll_seconds)
                except Timeout:
                    continue
            except FileNotFoundError:
                continue  # the folder was removed by a holder that left it empty: make it again
            if _locks_the_current_file(lock, self.path):
                self._lock = lock
                return self
            lock.release()  # locked a file its holder had removed on leaving: take the new one

    def __exit__(self, *exc: object) -> None:
        if self._lock is None:
            return
        try:
            # a run that failed before writing anything leaves no folder; removed while still held, so
            # a waiter that then locks the removed file sees that it is gone and takes the new one
            if [entry.name for entry in self.run_dir.iterdir()] == [LOCK_FILE]:
                self.path.unlink()
                self.run_dir.rmdir()
        except OSError:
            pass  # the run's files stay
        finally:
            self._lock.release()
            self._lock = None


def _locks_the_current_file(lock: FileLock, path: Path) -> bool:
    """Whether the file ``lock`` holds is still the one at ``path`` (not one its last holder removed)."""
    descriptor = getattr(getattr(lock, "_context", None), "lock_file_fd", None)
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    if descriptor is None:  # a filelock without flock (its own marker file) removes nothing behind us
        return True
    return os.path.samestat(os.fstat(descriptor), current)
