"""Resources of a suite's array tasks: the suite file's ``slurm:`` section and ``--slurm KEY=VALUE``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from disbench.config import build_config, parse_set_options


@dataclass(frozen=True)
class SlurmSettings:
    """Resources of each array task; keys of a suite's ``slurm:`` section and of ``--slurm KEY=VALUE``.

    Attributes:
        partition: Slurm partition (None: the cluster's default).
        time: wall-clock limit of one task, in minutes.
        cpus_per_task: CPU cores per task.
        gpus_per_task: GPUs per task (0 for CPU-only runs).
        mem_gb: memory per task in GiB (None: the partition's default).
        array_parallelism: at most this many tasks run at once.
        account: account to charge (None: the user's default).
        qos: quality of service (None: the default).
        job_name: the array job's name (default: disbench-SUITE).
        setup: shell lines run before each task (``module load ...``, ``source venv/bin/activate``).
        sbatch: any other ``#SBATCH`` options, as ``{option: value}`` (``constraint: a100``).
    """

    partition: str | None = None
    time: int = 240
    cpus_per_task: int = 4
    gpus_per_task: int = 0
    mem_gb: float | None = None
    array_parallelism: int = 256
    account: str | None = None
    qos: str | None = None
    job_name: str | None = None
    setup: tuple[str, ...] = ()
    sbatch: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("time", "cpus_per_task", "array_parallelism"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.gpus_per_task < 0:
            raise ValueError(f"gpus_per_task must be >= 0, got {self.gpus_per_task}")

    def with_overrides(self, overrides: dict[str, Any]) -> "SlurmSettings":
        """These settings with ``--slurm KEY=VALUE`` values on top; ``sbatch.OPTION=VALUE`` adds one sbatch option."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["sbatch"] = dict(self.sbatch)
        for key, value in overrides.items():
            scope, dot, option = key.partition(".")
            if dot and scope == "sbatch":
                values["sbatch"][option] = value
            else:
                values[key] = value
        return build_config(SlurmSettings, values, "--slurm")

    def executor_parameters(self, suite_name: str) -> dict[str, Any]:
        """These settings as submitit's ``update_parameters`` keywords (shared ones unprefixed)."""
        parameters: dict[str, Any] = {
            "name": self.job_name or f"disbench-{suite_name}",
            "timeout_min": self.time,
            "cpus_per_task": self.cpus_per_task,
            "gpus_per_node": self.gpus_per_task,  # one task per node, so per node = per task
            "tasks_per_node": 1,
            "nodes": 1,
            "slurm_array_parallelism": self.array_parallelism,
        }
        if self.mem_gb is not None:
            parameters["mem_gb"] = self.mem_gb
        for name in ("partition", "account", "qos"):
            if getattr(self, name) is not None:
                parameters[f"slurm_{name}"] = getattr(self, name)
        if self.setup:
            parameters["slurm_setup"] = list(self.setup)
        if self.sbatch:
            parameters["slurm_additional_parameters"] = {str(k): v for k, v in self.sbatch.items()}
        return parameters



def slurm_overrides(items: list[str] | None) -> dict[str, Any]:
    """``--slurm KEY=VALUE`` items as a mapping (``setup`` values may be repeated)."""
    parsed = parse_set_options(items)
    if "setup" in parsed:
        parsed["setup"] = [line for item in items or [] if item.startswith("setup=") for line in [item.partition("=")[2]]]
    return parsed

