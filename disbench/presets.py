"""Find the YAML presets (methods/), dataset cards (datasets/) and suites (suites/).

They live at the top of the source tree and are copied into the wheel under
``disbench/_presets``; a source checkout or editable install reads them in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from disbench.config import load_yaml_file

_PACKAGE_DIR = Path(__file__).resolve().parent


def preset_dir(kind: str) -> Path:
    """Folder of presets of ``kind`` ("methods", "datasets" or "suites")."""
    installed = _PACKAGE_DIR / "_presets" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / kind


def preset_path(kind: str, name: str) -> Path:
    return preset_dir(kind) / f"{name}.yaml"


def load_preset(kind: str, name: str) -> dict[str, Any]:
    """The preset for ``name``, or an empty mapping when there is none."""
    path = preset_path(kind, name)
    if not path.is_file():
        return {}
    return load_yaml_file(path, what=f"{kind[:-1]} preset")


def method_defaults(method: str, dataset: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Hyperparameters and budget a method's preset gives on ``dataset``.

    A preset holds ``hyperparameters`` (all datasets), ``budget`` (``steps``), and
    ``datasets: {name: {hyperparameters: ..., budget: ...}}`` overriding per dataset.

    Returns:
        (hyperparameters, budget) as plain mappings.
    """
    preset = load_preset("methods", method)
    hyper = dict(preset.get("hyperparameters") or {})
    budget = dict(preset.get("budget") or {})
    per_dataset = (preset.get("datasets") or {}).get(dataset) or {}
    hyper.update(per_dataset.get("hyperparameters") or {})
    budget.update(per_dataset.get("budget") or {})
    return hyper, budget
