"""``data prepare`` and ``data info``: filling the render cache, and saying where files are looked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from disbench.datasets import dsprites_files, locations
from disbench.datasets.base import Dataset
from disbench.datasets.registry import DATASETS
from disbench.errors import UsageError

#: datasets whose pixels the dSprites render cache holds
SPRITE_DATASETS = ("dsprites", "color-dsprites", "color-dsprites-tint")


def prepare(dataset_name: str, cache_dir: str | Path | None = None, overwrite: bool = False) -> Path:
    """Render a dataset into the cache, so later runs read pixels instead of rendering them.

    Args:
        dataset_name: a registered dataset; the dSprites family shares one cache file.
        cache_dir: the cache folder (default ``$DISBENCH_CACHE``, else the user cache folder, ``$XDG_CACHE_HOME/disbench`` on Linux).
        overwrite: render again even when the cache file exists.

    Returns:
        The cache file.

    Raises:
        UsageError: an unknown dataset, or one with nothing to prepare (its pixels come from
            the user's files).
    """
    DATASETS.get(dataset_name)  # unknown names: the registry's message
    if dataset_name not in SPRITE_DATASETS:
        raise UsageError(
            f"dataset {dataset_name!r} has nothing to prepare: it reads your files directly "
            f"(only {', '.join(SPRITE_DATASETS)} are rendered into a cache)."
        )
    path = locations.cache_dir(None if cache_dir is None else str(cache_dir)) / dsprites_files.CACHE_NAME
    if path.is_file() and not overwrite:
        return path
    return dsprites_files.write_cache(path)


def locate(dataset: Dataset | str, **options: Any) -> dict[str, Any]:
    """Where a dataset's files are looked for and whether they were found; never raises for missing files.

    Args:
        dataset: a built dataset, or a registered name (then ``options`` fill its config, so
            this works for a dataset that cannot be built because its file is missing).

    Returns:
        A mapping ``{"in use": str | None, <file or folder>: {"looked for", "found"[, "problem"]}}``.
    """
    if isinstance(dataset, Dataset):
        return dataset.describe().get("files") or {"in use": "generated in-process"}
    cls = DATASETS.get(dataset)
    from disbench.config import build_config

    config = build_config(cls.Config, options, f"dataset {dataset!r}")
    if hasattr(cls, "locate_files"):
        return cls.locate_files(config)
    return {"in use": "generated in-process"}
