"""Which process holds a run folder, and whether it still lives.

A run's status.json records its holder: the host, the process id and the cluster job id
(Slurm's ``ARRAYJOB_TASK`` for an array task, its job id otherwise, submitit's local job id
when submitit runs the task on this machine). ``disbench bench --status`` reads it back to
tell a run that is training from one whose process was killed before it could say so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from typing import Any


def current_job_id() -> str | None:
    """This process's cluster job id, or None outside a scheduler."""
    array_job, array_task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array_job and array_task:
        return f"{array_job}_{array_task}"
    if os.environ.get("SLURM_JOB_ID"):
        return os.environ["SLURM_JOB_ID"]
    if os.environ.get("SUBMITIT_LOCAL_JOB_ID"):
        return f"local:{os.environ['SUBMITIT_LOCAL_JOB_ID']}"
    return None


def current_holder() -> dict[str, Any]:
    """The fields a run's status.json records about the process training it."""
    holder: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    job_id = current_job_id()
    if job_id:
        holder["job_id"] = job_id
    return holder


def holder_alive(status: dict[str, Any], queued_jobs: set[str] | None = None) -> bool:
    """Whether the process recorded in ``status`` may still be running.

    On this host the process id answers; elsewhere a Slurm job id is looked up in
    ``queued_jobs`` (from :func:`slurm_queue`) when that is known; otherwise the run is
    presumed alive, since nothing here can tell.
    """
    if status.get("host") == socket.gethostname() and isinstance(status.get("pid"), int):
        try:
            os.kill(status["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # a process of another user holds the id: it lives
            return True
        return True
    job_id = str(status.get("job_id") or "")
    if queued_jobs is not None and job_id and not job_id.startswith("local:"):
        pending_range = f"{job_id.split('_')[0]}_["  # squeue folds pending array tasks into ranges
        return job_id in queued_jobs or any(queued.startswith(pending_range) for queued in queued_jobs)
    return True


def slurm_queue() -> set[str] | None:
    """Job ids (``123``, ``123_4``, ``123_[5-9]``) of this user's queued and running Slurm jobs; None without squeue."""
    squeue = shutil.which("squeue")
    if squeue is None:
        return None
    try:
        listed = subprocess.run(
            [squeue, "--me", "--noheader", "--array", "--format=%i"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {line.strip() for line in listed.stdout.splitlines() if line.strip()}


def describe_holder(status: dict[str, Any]) -> str | None:
    """The process a run's status.json records as training it, for a person: ``pid 123 on node7 (job 456_2)``.

    None when the status names no process that may still be running (a new, finished or
    killed run): the holder of the lock has not recorded itself yet.
    """
    if status.get("state") != "running" or "pid" not in status or not holder_alive(status):
        return None
    job = f" (job {status['job_id']})" if status.get("job_id") else ""
    return f"pid {status['pid']} on {status.get('host', 'an unknown host')}{job}"
