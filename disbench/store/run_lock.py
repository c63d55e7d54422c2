"""One trainer per run folder: a lock file naming the process that holds it.

Two ``disbench train`` commands on the same run would both train and interleave
the log and checkpoints. The first takes ``train.lock`` in the run folder (its
pid, host and start time, written whole before it appears: a hard link of a
finished temporary file, which fails if the lock exists); the second is told who
holds it, or waits. A lock left by a process that died on this host (SIGKILL,
power loss) is stale and taken over; one held on another host is never guessed
at, the message says how to remove it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from disbench.errors import DisbenchError

LOCK_FILE = "train.lock"


class RunLocked(DisbenchError):
    """Another live process is training this run (exit 1)."""


@dataclass(frozen=True)
class LockHolder:
    pid: int
    host: str
    started: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.started}"


def read_holder(lock_path: Path) -> LockHolder | None:
    """Who holds ``lock_path``; None when the file is gone. An unreadable lock names no one."""
    try:
        data = json.loads(lock_path.read_text())
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["started"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return LockHolder(-1, "an unknown host", "an unknown time")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _is_stale(holder: LockHolder) -> bool:
    """Only a lock of this host whose process is gone is known to be stale."""
    return holder.host == socket.gethostname() and holder.pid > 0 and not _alive(holder.pid)


class RunLock:
    """Hold the training lock of ``run_dir`` for the duration of a ``with`` block.

    Args:
        run_dir: the run folder (created if missing).
        wait: block until the holder releases the lock instead of raising RunLocked.
        on_wait: called once with the holder when waiting starts (to tell the user).
        poll_seconds: how often a waiting process looks again.
    """

    def __init__(self, run_dir: str | Path, wait: bool = False,
                 on_wait: Callable[[LockHolder], None] | None = None, poll_seconds: float = 0.5) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self.wait = wait
        self.on_wait = on_wait
        self.poll_seconds = poll_seconds
        self._mine: str | None = None

    def __enter__(self) -> "RunLock":
        told = False
        while not self._try_acquire():
            holder = read_holder(self.path)
            if holder is None:
                continue  # released between our attempt and the read
            if _is_stale(holder):
                self._break_stale(holder)
                continue
            if not self.wait:
                raise RunLocked(
                    f"run {self.path.parent.name!r} is being trained by {holder.describe()}; "
                    f"wait for it (add --wait) or, if that process is gone, delete {str(self.path)!r}."
                )
            if not told and self.on_wait is not None:
                self.on_wait(holder)
                told = True
            time.sleep(self.poll_seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        # remove the lock only if it is still ours (a user may have deleted and another process retaken it)
        try:
            if self.path.read_text() == self._mine:
                self.path.unlink()
        except FileNotFoundError:
            pass
        try:
            self.path.parent.rmdir()  # a run that failed before writing anything leaves no empty folder
        except OSError:
            pass  # not empty: the run's files stay

    def _try_acquire(self) -> bool:
        content = json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        )
        temporary = self.path.with_name(f".{LOCK_FILE}.{os.getpid()}.tmp")
        try:
            # the folder may have just been removed by a holder that left it empty: make it again
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(content)
        except FileNotFoundError:
            return False
        try:
            os.link(temporary, self.path)  # atomic, and fails if the lock exists: never a half-written lock
        except (FileExistsError, FileNotFoundError):
            return False
        except OSError:  # a file system without hard links: exclusive creation, written at once
            return self._create_exclusively(content)
        finally:
            temporary.unlink(missing_ok=True)
        self._mine = content
        return True

    def _create_exclusively(self, content: str) -> bool:
        try:
            descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except (FileExistsError, FileNotFoundError):
            return False
        with os.fdopen(descriptor, "w") as handle:
            handle.write(content)
        self._mine = content
        return True

    def _break_stale(self, holder: LockHolder) -> None:
        """Remove a dead process's lock; of several processes doing so at once, one link wins afterwards."""
        aside = self.path.with_name(f".{LOCK_FILE}.stale.{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another process broke it first
        if read_holder(aside) != holder:  # a live lock replaced the stale one before our rename: put it back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        aside.unlink(missing_ok=True)
