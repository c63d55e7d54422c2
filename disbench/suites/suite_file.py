"""Suite files (``suites/NAME.yaml`` or any path): their keys checked, their methods made into blocks.

A suite is a YAML file::

    name: quick
    seeds: [0, 1]                  # or {range: [0, 50]}: seeds 0..49
    datasets: [synthetic]
    metrics: [mig, sap, r2]
    eval: {n_eval: 10000, n_test: 5000, set: {mig.num_bins: 20}}
    slurm: {partition: gpu, time: 240, cpus_per_task: 8, gpus_per_task: 1, mem_gb: 32}
    claims: [...]                  # what the runs test, checked by `disbench report --claims` (disbench.report.claims)
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

``methods_from_presets: quick`` instead of ``methods`` takes one entry from every method
preset with a ``quick:`` section (``hyperparameters`` there is ``set`` here), in the order
the methods are registered: the quick suite, which a new method joins by its preset alone.
"""

from __future__ import annotations

import itertools
import string
from pathlib import Path
from typing import Any

from disbench.config import build_config, load_yaml_file
from disbench.errors import UsageError
from disbench.evaluation import EvalSettings
from disbench.presets import ENTRY_SECTIONS, preset_dir, preset_entry
from disbench.report.claims import parse_claims
from disbench.suites.slurm_settings import SlurmSettings
from disbench.suites.stacked import check_stack_size
from disbench.suites.suite import MethodBlock, Suite

SUITE_KEYS = {"name", "description", "seeds", "datasets", "metrics", "methods", "methods_from_presets", "eval", "slurm", "claims", "stack"}
ENTRY_KEYS = {"steps", "set", "grid", "label", "datasets", "seeds", "metrics", "eval"}


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
    if "methods_from_presets" in data:
        if "methods" in data:
            raise UsageError(f"{where}: give methods or methods_from_presets, not both.")
        methods = _preset_entries(data["methods_from_presets"], where)
    else:
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
            MethodBlock(
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


def _preset_entries(section: Any, where: str) -> list[tuple[str, dict[str, Any], str]]:
    """(method, entry, where) of every registered method whose preset has ``section``, in registry order.

    A preset section holds ``hyperparameters`` where a suite entry holds ``set``.
    """
    from disbench.methods import METHODS

    if section not in ENTRY_SECTIONS:
        raise UsageError(f"{where}: methods_from_presets names a preset section: one of {', '.join(ENTRY_SECTIONS)}, got {section!r}.")
    blocks = []
    for method in METHODS:
        entry = preset_entry(method, section)
        if entry is None:
            continue
        if "hyperparameters" in entry:
            entry["set"] = entry.pop("hyperparameters")
        blocks.append((method, entry, f"{where}, method {method!r} (the {section}: section of its preset)"))
    if not blocks:
        raise UsageError(f"{where} lists no methods: no method's preset has a {section}: section.")
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


