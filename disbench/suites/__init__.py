"""Suites: an ordered grid of (method, dataset, hyperparameters, seed) runs, trained, scored, reported.

A suite is a YAML file (``suites/NAME.yaml`` or any path)::

    name: quick
    seeds: [0, 1]                  # or {range: [0, 50]}: seeds 0..49
    datasets: [synthetic]
    metrics: [mig, sap, r2]
    eval: {n_eval: 10000, n_test: 5000, set: {mig.num_bins: 20}}
    slurm: {partition: gpu, time: 240, cpus_per_task: 8, gpus_per_task: 1, mem_gb: 32}
    claims: [...]                  # what the runs test, checked by `disbench report --claims` (disbench.report.claims)
    stack: 16                      # train up to 16 entries that differ only in seed and stackable numbers
                                   # as one stacked model (disbench.suites.stacked; `bench --stack N`)
    methods:
      beta-vae:
        steps: 1500
        set: {lr: 0.001}
        grid: {beta: [1, 4, 16]}   # a product of lists, or a list of mappings
        label: "beta={beta}"
      pca: {}
      geomancer: {datasets: [product-manifold], metrics: [subspace-angle]}

Each method's entries are every (dataset, grid point, seed) in that order; an entry may
also set its own ``datasets``, ``seeds``, ``metrics`` and ``eval`` (merged over the
suite's). ``methods`` may also be a list of entries, each with a ``method:`` key, so that
one method can have several blocks (other datasets, steps or settings).

The grid is never expanded as a whole: :meth:`Suite.entry` computes entry ``I``
from the sizes, so ``--list`` and ``--index I`` stay fast for tens of thousands of entries,
and listing resolves one configuration per (method, dataset, grid point), not per seed.

Executors run a list of entry indices: :class:`LocalExecutor` in this process (or
``jobs`` worker processes), :class:`SubmititExecutor` as one submitit array job, on Slurm
or, with ``cluster="local"``, as subprocesses of this machine (the same code path, used by
the tests). Every entry appends its rows to the leaderboard under the store's file lock.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import string
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Sequence

from disbench.report.claims import Claim, parse_claims
from disbench.config import build_config, load_yaml_file, parse_set_options
from disbench.errors import UsageError
from disbench.evaluation import EvalSettings
from disbench.presets import preset_dir
from disbench.suites.entry import SCORED, SuiteRunResult, read_scored, run_entry, scoring_key  # noqa: F401  (the package's names)
from disbench.suites.stacked import check_stack_size, run_batch, run_batch_at, stacked_batches

SUITE_KEYS = {"name", "description", "seeds", "datasets", "metrics", "methods", "eval", "slurm", "claims", "stack"}
ENTRY_KEYS = {"steps", "set", "grid", "label", "datasets", "seeds", "metrics", "eval"}
#: entry states, in the order `--status` summarises them
STATES = ("missing", "running", "interrupted", "failed", "unscored", "finished")
#: states a rerun submits again: nothing holds them and they are not done
RESUBMIT_STATES = {"missing", "interrupted", "failed", "unscored"}


# --------------------------------------------------------------------------------------------
# Suite files


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
class _Block:
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


class Suite:
    """A loaded suite: entries computed on demand, configurations resolved once per grid point."""

    def __init__(
        self,
        name: str,
        blocks: Sequence[_Block],
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

    def _make_entry(self, index: int, block: _Block, dataset: str, point: dict[str, Any], seed: int) -> SuiteEntry:
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

        key = json.dumps([entry.method, entry.dataset, entry.steps, entry.overrides], sort_keys=True, default=str)
        if key not in self._specs:
            self._specs[key] = resolve_run_spec(entry.method, entry.dataset, 0, entry.steps, entry.overrides)
        return replace(self._specs[key], seed=entry.seed)

    def select(self, indices: Sequence[int] | None) -> list[SuiteEntry]:
        return list(self.entries()) if indices is None else [self.entry(i) for i in indices]


def suite_names() -> list[str]:
    return sorted(p.stem for p in preset_dir("suites").glob("*.yaml"))


def suite_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix:
        return path
    path = preset_dir("suites") / f"{name_or_path}.yaml"
    if not path.is_file():
        from disbench.registry import unknown_name_message

        raise UsageError(unknown_name_message("suite", name_or_path, suite_names()))
    return path


def load_suite(name_or_path: str) -> Suite:
    """A suite by name (``suites/NAME.yaml``) or path; unknown keys and malformed grids are UsageErrors."""
    path = suite_path(name_or_path)
    where = f"suite {str(path)!r}"
    data = load_yaml_file(path, what="suite")
    _check_keys(data, SUITE_KEYS, where)
    methods = _method_entries(data.get("methods"), where)
    seeds = _seeds(data.get("seeds", [0]), where)
    datasets = _names(data.get("datasets", ["synthetic"]), f"{where}: datasets")
    metrics = _names(data.get("metrics", ["all"]), f"{where}: metrics")
    settings, options = _eval_section(data.get("eval"), where)
    blocks = []
    for method, entry, entry_where in methods:
        _check_keys(entry, ENTRY_KEYS, entry_where)
        entry_settings, entry_options = _eval_section(entry.get("eval"), entry_where)
        points = _grid_points(entry.get("grid"), dict(entry.get("set") or {}), entry_where)
        label = entry.get("label")
        if label is not None:
            _check_label(str(label), points, entry_where)
        steps = entry.get("steps")
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise UsageError(f"{entry_where}: steps must be a positive whole number, got {steps!r}.")
        block_metrics = _names(entry["metrics"], f"{entry_where}: metrics") if "metrics" in entry else metrics
        # the suite's metric options reach the entries that compute that metric (the quick suite
        # sets r2's options, and GeoManCEr's entry computes subspace-angle alone); an entry's own
        # options must name metrics it computes, which evaluation checks
        suite_options = {key: value for key, value in options.items()
                         if "all" in block_metrics or key.partition(".")[0] in block_metrics}
        blocks.append(
            _Block(
                method=str(method),
                datasets=_names(entry["datasets"], f"{entry_where}: datasets") if "datasets" in entry else datasets,
                points=points,
                seeds=_seeds(entry["seeds"], entry_where) if "seeds" in entry else seeds,
                steps=steps,
                metrics=block_metrics,
                eval_settings={**settings, **entry_settings},
                metric_options={**suite_options, **entry_options},
                label=None if label is None else str(label),
            )
        )
    slurm_data = data.get("slurm") or {}
    if not isinstance(slurm_data, dict):
        raise UsageError(f"{where}: slurm must be a mapping of settings.")
    slurm = build_config(SlurmSettings, slurm_data, f"{where}, slurm section")
    claims = parse_claims(data.get("claims"), where)
    stack = check_stack_size(data.get("stack", 1), where)
    return Suite(
        str(data.get("name", path.stem)), blocks, str(data.get("description", "")).strip(), slurm, str(path.resolve()), claims,
        stack,
    )


def _method_entries(methods: Any, where: str) -> list[tuple[str, dict[str, Any], str]]:
    """(method, entry, where) per block, in file order.

    ``methods`` is a mapping of method name to entry, a list of names, or a list of entries
    each naming its ``method`` (so that one method can have several blocks, e.g. one per
    dataset with its own steps and settings).
    """
    if isinstance(methods, dict):
        items = list(methods.items())
    elif isinstance(methods, list):
        items = []
        for item in methods:
            if isinstance(item, dict) and "method" in item:
                entry = dict(item)
                items.append((entry.pop("method"), entry))
            elif isinstance(item, str):
                items.append((item, {}))
            else:
                raise UsageError(f"{where}: each item of a methods list is a method name or a mapping with `method:`, got {item!r}.")
    else:
        items = []
    if not items:
        raise UsageError(f"{where} lists no methods.")
    blocks = []
    for number, (method, entry) in enumerate(items):
        entry_where = f"{where}, method {method!r}" + (f" (item {number + 1})" if isinstance(methods, list) else "")
        entry = entry or {}
        if not isinstance(entry, dict):
            raise UsageError(f"{entry_where} must be a mapping of keys ({', '.join(sorted(ENTRY_KEYS))}).")
        blocks.append((str(method), entry, entry_where))
    return blocks


def _check_keys(data: dict[str, Any], valid: set[str], where: str) -> None:
    unknown = set(data) - valid
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r}; valid keys: {', '.join(sorted(valid))}.")


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise UsageError(f"{where} must be a non-empty list of names.")
    return tuple(str(v) for v in value)


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    """``[0, 1, 2]``, a single seed, or ``{range: [START, STOP]}`` (STOP excluded, as Python's range)."""
    if isinstance(value, dict):
        bounds = value.get("range")
        if set(value) != {"range"} or not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int) for b in bounds)):
            raise UsageError(f"{where}: seeds takes a list or {{range: [START, STOP]}}, got {value!r}.")
        seeds = tuple(range(bounds[0], bounds[1]))
    else:
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise UsageError(f"{where}: seeds must be whole numbers, got {value!r}.")
        seeds = tuple(values)
    if not seeds:
        raise UsageError(f"{where}: seeds is empty.")
    return seeds


def _eval_section(value: Any, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``eval: {n_eval: ..., set: {METRIC.OPTION: value}}`` -> (EvalSettings fields, metric options)."""
    value = dict(value or {})
    options = value.pop("set", None) or {}
    if not isinstance(options, dict):
        raise UsageError(f"{where}: eval.set must be a mapping of METRIC.OPTION to values.")
    for key in options:
        if "." not in str(key):
            raise UsageError(f"{where}: eval.set keys take the form METRIC.OPTION (e.g. mig.num_bins), got {key!r}.")
    build_config(EvalSettings, value, f"{where}, eval section")  # fails early on unknown keys
    return value, {str(k): v for k, v in options.items()}


def _grid_points(grid: Any, fixed: dict[str, Any], where: str) -> tuple[dict[str, Any], ...]:
    """The entry's hyperparameter settings: ``set`` values under each grid point.

    ``grid: {beta: [1, 2], lr: [1e-3, 1e-4]}`` is the product (4 points, the last key
    varying fastest); ``grid: [{beta: 1, lr: 1e-3}, {beta: 2, lr: 1e-4}]`` lists points.
    """
    if grid is None:
        return (fixed,)
    if isinstance(grid, dict):
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise UsageError(f"{where}: grid key {key!r} needs a non-empty list of values, got {values!r}.")
        keys = list(grid)
        return tuple({**fixed, **dict(zip(keys, combo))} for combo in itertools.product(*(grid[k] for k in keys)))
    if isinstance(grid, list) and grid and all(isinstance(p, dict) for p in grid):
        return tuple({**fixed, **p} for p in grid)
    raise UsageError(f"{where}: grid takes a mapping of KEY: [values] or a list of mappings, got {grid!r}.")


def _check_label(label: str, points: tuple[dict[str, Any], ...], where: str) -> None:
    known = {"method", "dataset"} | {k.rpartition(".")[2] for p in points for k in p}
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(label) if name}
    except ValueError as exc:
        raise UsageError(f"{where}: label {label!r} is not a valid template ({exc}).") from None
    unknown = names - known
    if unknown:
        raise UsageError(f"{where}: label {label!r} names {sorted(unknown)[0]!r}; it may use {', '.join(sorted(known))}.")
    if len(points) > 1 and not names - {"method", "dataset"}:
        raise UsageError(
            f"{where}: label {label!r} is the same for every grid point, so a report would pool them; "
            "put the grid's keys in it, e.g. 'beta={beta}'."
        )


# --------------------------------------------------------------------------------------------
# One entry: train, score, record


# --------------------------------------------------------------------------------------------
# What an entry costs, from the seconds committed runs recorded


#: committed leaderboards whose recorded seconds the cost estimates of ``--list`` come from
#: (a source checkout's ``results/``; an installed wheel has none, and estimates are unknown)
TIMINGS_FOLDER = Path(__file__).resolve().parent.parent / "results"


@dataclass
class CostModel:
    """Seconds an entry costs, estimated from the training and scoring times committed runs recorded.

    Each (method, dataset) is timed per training step and, per metric, per evaluation point
    (linear in ``n_eval``: an estimate, kernel ridge with a cap grows slower), from the runs of
    the same configuration when there are some, else (per metric too) of any configuration of
    that method and dataset. The fastest recorded run is used: runs that shared the machine with other jobs
    took longer, not the work.
    """

    #: key -> (seconds per training step, or flat seconds when the method has no steps; steps-aware)
    train: dict[tuple[str, ...], tuple[float, bool]] = field(default_factory=dict)
    #: key + (metric,) -> seconds per evaluation point
    evaluate: dict[tuple[str, ...], float] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)

    @classmethod
    def from_leaderboards(cls, paths: Sequence[Path]) -> "CostModel":
        import pandas as pd

        from disbench.errors import DisbenchError
        from disbench.store import read_leaderboard

        frames, sources = [], []
        for path in paths:
            try:
                frame = read_leaderboard(path)
            except DisbenchError:  # a CSV in results/ that is not a leaderboard (an R^2 table)
                continue
            frames.append(frame[frame["hyperparameters"].astype(str).str.startswith("{\"")])
            sources.append(path)
        model = cls(sources=sources)
        if not frames:
            return model
        rows = pd.concat(frames, ignore_index=True)
        budget = rows["hyperparameters"].map(lambda text: json.loads(text).get("steps", 0))
        rows = rows.assign(budget=budget, configuration=rows["hyperparameters"].map(_without_steps),
                           base=rows["metric"].str.split(".").str[0])
        for levels in (("method", "dataset"), ("method", "dataset", "configuration")):
            runs = rows.drop_duplicates("run_id")
            for key, group in runs.groupby(list(levels)):
                stepped = group[group["budget"] > 0]
                if len(stepped):
                    model.train[key] = (float((stepped["train_seconds"] / stepped["budget"]).min()), True)
                else:
                    model.train[key] = (float(group["train_seconds"].min()), False)
            # a metric's seconds are recorded on each of its rows of one space: once per space, summed
            per_space = rows.drop_duplicates(["run_id", "steps", "n_eval", "base", "space"])
            per_run = per_space.groupby(["run_id", "steps", "n_eval", "base", *levels])["eval_seconds"].sum().reset_index()
            per_run = per_run.assign(per_point=per_run["eval_seconds"] / per_run["n_eval"].clip(lower=1))
            for key, value in per_run.groupby([*levels, "base"])["per_point"].min().items():
                model.evaluate[key] = float(value)
        return model

    def estimate(self, spec: Any, metrics: Sequence[str], n_eval: int) -> "Cost | None":
        """Seconds to train and score ``spec`` on ``n_eval`` points (those of the metrics a committed
        run timed), or None when no committed run of its method and dataset says."""
        from disbench.store import hyperparameters_json

        key = next((k for k in ((spec.method, spec.dataset, _without_steps(hyperparameters_json(spec))), (spec.method, spec.dataset))
                    if k in self.train), None)
        if key is None:
            return None
        per_step, stepped = self.train[key]
        seconds = per_step * spec.steps if stepped else per_step
        # a metric the configuration's runs did not time is taken from the method's runs on the dataset
        timed = {k[-1]: v for k, v in self.evaluate.items() if k[:-1] == (spec.method, spec.dataset)}
        timed.update({k[-1]: v for k, v in self.evaluate.items() if k[:-1] == key})
        wanted = list(timed) if "all" in metrics else list(metrics)
        seconds += sum(timed[m] for m in wanted if m in timed) * n_eval
        return Cost(seconds, all(m in timed for m in wanted))


@dataclass(frozen=True)
class Cost:
    """An entry's estimated seconds; ``complete`` is False when some of its metrics were never timed (left out)."""

    seconds: float
    complete: bool = True


def _without_steps(hyperparameters: str) -> str:
    data = json.loads(hyperparameters)
    data.pop("steps", None)
    return json.dumps(data, sort_keys=True)


def cost_model() -> CostModel:
    """The cost model of the committed leaderboards under :data:`TIMINGS_FOLDER` (empty if none)."""
    paths = sorted(TIMINGS_FOLDER.glob("**/*.csv")) if TIMINGS_FOLDER.is_dir() else []
    return CostModel.from_leaderboards(paths)


def listing_costs(suite: Suite, entries: Sequence[SuiteEntry], model: CostModel | None = None) -> list[Cost | None]:
    """Estimated cost of each entry (:class:`CostModel`); one estimate per configuration, not per seed."""
    model = model or cost_model()
    cache: dict[str, Cost | None] = {}
    costs = []
    for entry in entries:
        key = json.dumps([entry.method, entry.dataset, entry.steps, entry.overrides, entry.metrics, entry.eval_settings],
                         sort_keys=True, default=str)
        if key not in cache:
            n_eval = int(entry.eval_settings.get("n_eval", EvalSettings().n_eval))
            cache[key] = model.estimate(suite.spec(entry), entry.metrics, n_eval)
        costs.append(cache[key])
    return costs


def duration_text(cost: Cost | float | None) -> str:
    """``~45s``, ``~3m10s``, ``~2h05m``; ``?`` when unknown; a ``+`` when some metrics are left out."""
    if cost is None:
        return "?"
    if not isinstance(cost, Cost):
        cost = Cost(float(cost))
    seconds = int(round(cost.seconds))
    more = "" if cost.complete else "+"
    if seconds < 60:
        return f"~{seconds}s{more}"
    if seconds < 3600:
        return f"~{seconds // 60}m{seconds % 60:02d}s{more}"
    return f"~{seconds // 3600}h{seconds // 60 % 60:02d}m{more}"


# --------------------------------------------------------------------------------------------
# Where each entry stands


@dataclass(frozen=True)
class EntryStatus:
    index: int
    run_id: str
    label: str
    #: one of STATES
    state: str
    #: the cluster job (or ``local:ID``) that last held the run folder
    job_id: str
    step: int | None = None


def entry_status(suite: Suite, entry: SuiteEntry, runs_dir: str | Path, queued_jobs: set[str] | None = None) -> EntryStatus:
    """The entry's state, read from its run folder (status.json and the suite's scoring record)."""
    from disbench.store.jobs import holder_alive
    from disbench.store import read_status, run_dir_for

    spec = suite.spec(entry)
    run_dir = run_dir_for(runs_dir, spec)
    status = read_status(run_dir)
    recorded = status.get("state")
    if recorded == "finished":
        state = "finished" if scoring_key(entry) in read_scored(run_dir) else "unscored"
    elif recorded == "running":
        state = "running" if holder_alive(status, queued_jobs) else "interrupted"
    elif recorded in ("interrupted", "failed"):
        state = recorded
    elif recorded == "corrupt":
        state = "failed"
    else:
        state = "missing"
    step = status.get("step")
    return EntryStatus(entry.index, spec.run_id, entry.label or "", state, str(status.get("job_id") or ""), step)


def suite_status(suite: Suite, runs_dir: str | Path, indices: Sequence[int] | None = None) -> list[EntryStatus]:
    from disbench.store.jobs import slurm_queue

    queued = slurm_queue()
    return [entry_status(suite, entry, runs_dir, queued) for entry in suite.select(indices)]


# --------------------------------------------------------------------------------------------
# Executors


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


def pending_indices(statuses: list[EntryStatus], overwrite: bool = False) -> list[int]:
    """Entries a (re)submission runs: every one with ``overwrite``, else those missing or failed."""
    return [s.index for s in statuses if overwrite or s.state in RESUBMIT_STATES]


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


def slurm_overrides(items: list[str] | None) -> dict[str, Any]:
    """``--slurm KEY=VALUE`` items as a mapping (``setup`` values may be repeated)."""
    parsed = parse_set_options(items)
    if "setup" in parsed:
        parsed["setup"] = [line for item in items or [] if item.startswith("setup=") for line in [item.partition("=")[2]]]
    return parsed

