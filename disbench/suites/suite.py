"""A loaded suite: its method blocks and the entries they make, computed on demand.

The grid is never expanded as a whole: :meth:`Suite.entry` computes entry ``I``
from the blocks' sizes, so ``--list`` and ``--index I`` stay fast for tens of thousands of
entries, and listing resolves one configuration per (method, dataset, grid point), not per seed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from disbench.store.canonical import canonical_json
from disbench.config import build_config
from disbench.errors import UsageError
from disbench.evaluation import EvalSettings
from disbench.report.claims import Claim
from disbench.suites.slurm_settings import SlurmSettings


@dataclass(frozen=True)
class SuiteEntry:
    """One run of a suite and how it is scored."""

    index: int
    method: str
    dataset: str
    seed: int
    steps: int | None
    overrides: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] = ("all",)
    #: EvalSettings fields
    eval_settings: dict[str, Any] = field(default_factory=dict)
    #: ``METRIC.OPTION`` -> value, as ``disbench eval --set``
    metric_options: dict[str, Any] = field(default_factory=dict)
    label: str | None = None


@dataclass(frozen=True)
class MethodBlock:
    """One method's entries: datasets x grid points x seeds, in that order."""

    method: str
    datasets: tuple[str, ...]
    points: tuple[dict[str, Any], ...]
    seeds: tuple[int, ...]
    steps: int | None
    metrics: tuple[str, ...]
    eval_settings: dict[str, Any]
    metric_options: dict[str, Any]
    label: str | None

    def __len__(self) -> int:
        return len(self.datasets) * len(self.points) * len(self.seeds)




class Suite:
    """A loaded suite: entries computed on demand, configurations resolved once per grid point."""

    def __init__(
        self,
        name: str,
        blocks: Sequence[MethodBlock],
        description: str = "",
        slurm: SlurmSettings | None = None,
        source: str = "",
        claims: tuple[Claim, ...] = (),
        stack: int = 1,
    ) -> None:
        self.name = name
        #: entries trained together as one stacked model (:mod:`disbench.suites.stacked`)
        self.stack = stack
        self.blocks = tuple(blocks)
        self.description = description
        self.slurm = slurm or SlurmSettings()
        self.source = source
        self.claims = claims
        self._specs: dict[str, Any] = {}

    def __len__(self) -> int:
        return sum(len(block) for block in self.blocks)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_specs": {}}  # pickled into array jobs: the cache stays behind

    def check_metrics(self) -> None:
        """UsageError for a metric name or option of any method's block that evaluation would refuse,
        so that a typo fails before the first entry trains (it imports every metric: not at load)."""
        from disbench.evaluation import EvalRequest

        for block in self.blocks:
            settings = build_config(EvalSettings, block.eval_settings, f"suite {self.name!r}, eval section")
            try:
                EvalRequest(list(block.metrics), dict(block.metric_options), settings=settings).resolve(codes_only=False)
            except UsageError as exc:
                raise UsageError(f"suite {self.source or self.name!r}, method {block.method!r}: {exc}") from None

    def entry(self, index: int) -> SuiteEntry:
        """Entry ``index`` without expanding the others."""
        if not 0 <= index < len(self):
            raise UsageError(f"--index must be between 0 and {len(self) - 1} for suite {self.name!r}, got {index}.")
        offset = index
        for block in self.blocks:
            if offset < len(block):
                break
            offset -= len(block)
        per_dataset = len(block.points) * len(block.seeds)
        dataset = block.datasets[offset // per_dataset]
        point = block.points[(offset % per_dataset) // len(block.seeds)]
        seed = block.seeds[offset % len(block.seeds)]
        return self._make_entry(index, block, dataset, point, seed)

    def entries(self) -> Iterator[SuiteEntry]:
        index = 0
        for block in self.blocks:
            for dataset, point, seed in itertools.product(block.datasets, block.points, block.seeds):
                yield self._make_entry(index, block, dataset, point, seed)
                index += 1

    @property
    def runs(self) -> list[SuiteEntry]:
        """Every entry (expands the grid: prefer :meth:`entries` for big suites)."""
        return list(self.entries())

    def _make_entry(self, index: int, block: MethodBlock, dataset: str, point: dict[str, Any], seed: int) -> SuiteEntry:
        label = None
        if block.label:
            values = {"method": block.method, "dataset": dataset}
            values.update({key.rpartition(".")[2]: value for key, value in point.items()})
            label = block.label.format(**values)
        return SuiteEntry(
            index, block.method, dataset, seed, block.steps, point, block.metrics,
            block.eval_settings, block.metric_options, label,
        )  # fmt: skip

    def spec(self, entry: SuiteEntry):
        """The entry's RunSpec; resolved once per (method, dataset, steps, overrides), whatever the seed."""
        from dataclasses import replace

        from disbench.training.runs import resolve_run_spec

        key = canonical_json([entry.method, entry.dataset, entry.steps, entry.overrides])
        if key not in self._specs:
            self._specs[key] = resolve_run_spec(entry.method, entry.dataset, 0, entry.steps, entry.overrides)
        return replace(self._specs[key], seed=entry.seed)

    def select(self, indices: Sequence[int] | None) -> list[SuiteEntry]:
        return list(self.entries()) if indices is None else [self.entry(i) for i in indices]


