"""What determines a run's numbers, and the names derived from it (run id, config hash)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

from disbench.store.canonical import canonical_json


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's numbers (the device is recorded, not hashed)."""

    method: str
    dataset: str
    seed: int
    steps: int
    method_config: dict[str, Any] = field(default_factory=dict)
    dataset_config: dict[str, Any] = field(default_factory=dict)

    def config_hash(self) -> str:
        # the fields as they are (asdict's deep copy cost most of a 5,400-run suite's listing)
        canonical = canonical_json({f.name: getattr(self, f.name) for f in fields(self)})
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]

    @property
    def run_id(self) -> str:
        return f"{self.method}_{self.dataset}_s{self.seed}_{self.config_hash()}"

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "RunSpec":
        return RunSpec(
            method=data["method"],
            dataset=data["dataset"],
            seed=int(data["seed"]),
            steps=int(data["steps"]),
            method_config=dict(data.get("method_config") or {}),
            dataset_config=dict(data.get("dataset_config") or {}),
        )


def hyperparameters_json(spec: RunSpec | None) -> str:
    """The ``hyperparameters`` column: canonical JSON of the run's spec minus method, dataset and seed.

    ``"{}"`` for codes files (no spec). Two runs that differ in seed alone have the same value,
    so a report can pool exactly those.
    """
    if spec is None:
        return "{}"
    return canonical_json({"method_config": spec.method_config, "dataset_config": spec.dataset_config, "steps": spec.steps})
