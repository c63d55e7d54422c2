"""A suite as one submitit array job, one task per entry: on Slurm, or as subprocesses of this machine."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbench.errors import UsageError
from disbench.suites.stacked import run_batch_at, stacked_batches
from disbench.suites.slurm_settings import SlurmSettings
from disbench.suites.suite import Suite


@dataclass
class Submission:
    """An array job: its id, the entry indices it runs, and submitit's job handles."""

    job_id: str
    indices: list[int]
    jobs: list[Any] = field(repr=False)
    #: each task's entry indices (None: one task per entry)
    batches: list[list[int]] | None = None

    def wait(self) -> list[tuple[int, str]]:
        """Block until every task ends; returns (first index, error line) of the tasks that failed."""
        failures = []
        for (index, *_), job in zip(self.batches or [[i] for i in self.indices], self.jobs):
            try:
                job.result()
            except Exception as exc:  # submitit re-raises the task's error, or reports a killed task
                lines = [line for line in str(exc).strip().splitlines() if line.strip()]
                failures.append((index, lines[-1] if lines else type(exc).__name__))
        return failures


def import_submitit():
    try:
        import submitit
    except ImportError:
        raise UsageError(
            "the slurm executor needs submitit, which is not installed; "
            "install the extra: pip install 'disbench[slurm]'."
        ) from None
    return submitit


class SubmititExecutor:
    """One submitit array job, one task per entry; ``cluster`` is ``"slurm"`` or ``"local"``.

    ``cluster="local"`` runs the same submission on this machine as subprocesses (submitit's
    LocalExecutor), ``array_parallelism`` at a time: the path the tests exercise, and a dry
    run of a suite before a cluster.
    """

    def __init__(self, cluster: str, folder: str | Path, settings: SlurmSettings) -> None:
        self.cluster = cluster
        self.folder = Path(folder)
        self.settings = settings

    def make_executor(self, suite_name: str):
        submitit = import_submitit()
        try:
            executor = submitit.AutoExecutor(folder=str(self.folder / "%j"), cluster=self.cluster)
        except RuntimeError as exc:  # no srun on PATH: not a Slurm login node
            raise UsageError(f"--executor {self.cluster}: {exc} Run from a Slurm login node.") from None
        parameters = self.settings.executor_parameters(suite_name)
        if self.cluster != "slurm":
            parameters = {k: v for k, v in parameters.items() if not k.startswith("slurm_")}
        try:
            executor.update_parameters(**parameters)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"slurm settings refused by submitit: {str(exc).splitlines()[0]}") from None
        return executor

    def submit(
        self,
        suite: Suite,
        indices: list[int],
        runs_dir: str | Path,
        leaderboard: str | Path,
        device: str = "auto",
        overwrite: bool = False,
    ) -> Submission:
        """One array task per entry, or per batch of entries trained together (``suite.stack``)."""
        if not indices:
            return Submission("", [], [])
        executor = self.make_executor(suite.name)
        common = (str(Path(runs_dir).resolve()), str(Path(leaderboard).resolve()), device, overwrite, self.settings.cpus_per_task)
        batches = [[entry.index for entry in batch] for batch in stacked_batches(suite, suite.select(indices), suite.stack)]

        def submit(chunk: list[list[int]]) -> list[Any]:
            return executor.map_array(run_batch_at, [suite] * len(chunk), chunk, *([value] * len(chunk) for value in common))

        if self.cluster == "slurm":
            jobs = submit(batches)  # Slurm throttles the array to array_parallelism itself
        else:
            # submitit's local executor starts every job at once: run waves of array_parallelism
            jobs, wave = [], self.settings.array_parallelism
            for start in range(0, len(batches), wave):
                jobs += submit(batches[start : start + wave])
                while start + wave < len(batches) and not all(job.done() for job in jobs):
                    time.sleep(0.2)
        job_id = str(jobs[0].job_id).split("_")[0] if jobs else ""
        return Submission(job_id, list(indices), jobs, batches)


