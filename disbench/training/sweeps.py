"""The runs of a sweep: every seed of ``--seeds`` times every combination of the numbers that
``--set KEY=a,b,c`` lists (``disbench train -m beta-vae --seeds 0-3 --set beta=1,2``).

:func:`disbench.training.stacked_runs.train_many` trains them, stacked where the method can stack.
"""

from __future__ import annotations

import re
import typing

from disbench.errors import UsageError
from disbench.store import RunSpec


def parse_seeds(text: str) -> list[int]:
    """``"0-3,7"`` -> ``[0, 1, 2, 3, 7]`` (ranges inclusive, order kept, repeats dropped)."""
    from disbench.config import check_seed

    seeds: dict[int, None] = {}  # ordered, without repeats
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise UsageError(f"--seeds expects numbers and ranges such as 0-49 or 0,3,7; got {text!r}.")
        first = check_seed(match.group(1), "--seeds")
        last = check_seed(match.group(2), "--seeds") if match.group(2) else first
        if last < first:
            raise UsageError(f"--seeds range {part.strip()!r} runs backwards; write it as {last}-{first}.")
        seeds.update(dict.fromkeys(range(first, last + 1)))
    return list(seeds)


def _numeric_field(key: str, method: str, dataset: str) -> bool:
    """Whether ``--set key`` names a number (int or float) of the method or the dataset."""
    from disbench.datasets import DATASETS
    from disbench.methods import METHODS

    scope, dot, bare = key.partition(".")
    configs = {"method": METHODS.get(method).Config, "dataset": DATASETS.get(dataset).Config}
    candidates = [configs[scope]] if dot and scope in configs else list(configs.values())
    name = bare if dot and scope in configs else key
    for config in candidates:
        hints = typing.get_type_hints(config)
        if name in hints:
            return hints[name] in (int, float)
    return False


def sweep_specs(
    method: str, dataset: str, seeds: list[int], steps: int | None, overrides: dict[str, str]
) -> list[RunSpec]:
    """The runs of a sweep: every seed times every combination of comma-separated numbers.

    ``--set beta=1,2`` lists two values of a number; other values (``save_at=1000,3000``, a
    tuple) are passed on whole.
    """
    import itertools

    from disbench.training.runs import resolve_run_spec

    swept = {
        key: [v.strip() for v in value.split(",")]
        for key, value in overrides.items()
        if "," in value and _numeric_field(key, method, dataset)
    }
    fixed = {key: value for key, value in overrides.items() if key not in swept}
    specs = []
    for values in itertools.product(*swept.values()):
        for seed in seeds:
            specs.append(resolve_run_spec(method, dataset, seed, steps, {**fixed, **dict(zip(swept, values))}))
    return specs
