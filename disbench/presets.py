"""Find and check the YAML presets (methods/), dataset cards (datasets/) and suites (suites/).

They live at the top of the source tree and are copied into the wheel under
``disbench/_presets``; a source checkout or editable install reads them in place.

Presets and cards are input like the command line: a key the code does not know
(a misspelt section, a hyperparameter the method lacks, a per-dataset section for
a dataset that does not exist) is a UsageError naming the file, the key and the
valid keys, never silently ignored.

A method preset (``methods/NAME.yaml``)::

    method: NAME                 # the file's name
    citation: ...                # where the hyperparameters come from (required)
    hyperparameters: {KEY: VALUE}    # fields of the method's Config, on every dataset
    budget: {steps: N}
    datasets:                    # per registered dataset, overriding the above
      DATASET: {hyperparameters: {...}, budget: {...}}
    quick: {steps: N, hyperparameters: {...}, datasets: [...], metrics: [...]}
    tiny: {steps: N, hyperparameters: {...}, datasets: [...]}

``quick`` is the method's entry in the quick suite (``suites/quick.yaml`` takes one entry
from every preset that has the section, so a new method joins it by its preset alone);
``tiny`` is the few steps and small networks the tests train it with (:func:`tiny_overrides`).
Both are suite entries (:data:`ENTRY_SECTION_KEYS`): ``steps`` and ``hyperparameters`` over the
preset's, on its ``datasets`` (default: the suite's), scored with its ``metrics``.

A dataset card (``datasets/NAME.yaml``) is read by people; the keys in
:data:`CARD_KEYS` are known, ``name``, ``summary``, ``license`` and ``source`` are
required, and the parts that restate the code (``options``, ``defaults``, a list of
``factors``) are checked against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from disbench.config import build_config, check_steps, config_to_dict, field_names, load_yaml_file
from disbench.errors import UsageError

_PACKAGE_DIR = Path(__file__).resolve().parent

PRESET_KEYS = ("method", "citation", "hyperparameters", "budget", "datasets", "quick", "tiny")
#: sections of a method preset that are suite entries: the quick suite's, the tests' tiny run
ENTRY_SECTIONS = ("quick", "tiny")
ENTRY_SECTION_KEYS = ("steps", "hyperparameters", "datasets", "metrics")
DATASET_SECTION_KEYS = ("hyperparameters", "budget")
BUDGET_KEYS = ("steps",)

#: what each top-level key of a dataset card holds
CARD_KEYS = {
    "name": "the registered name (the file's name)",
    "summary": "one line",
    "title": "the dataset's full name",
    "citation": "the publication",
    "license": "the licence of the data",
    "source": "where the data comes from (files, urls, checksums, how to obtain)",
    "observations": "shape, dtype, values",
    "size": "number of points",
    "factors": "the ground-truth factors",
    "groups": "the transformation groups",
    "options": "the dataset's options (keys of its Config)",
    "defaults": "default option values (equal to the code's)",
    "spec": "what a spec string means",
    "mixing": "how latents become observations",
    "views": "how view pairs are drawn",
    "modes": "what each value of the dataset's mode option generates",
    "appearance": "how the appearance augmentations of query and keys differ",
    "embedding": "how points are embedded",
    "true_tangents": "the tangent spaces given",
    "checksum": "file checksums",
    "pixels": "how its pixels were made",
    "differs_from": "how it differs from a similar dataset",
}
CARD_REQUIRED = ("name", "summary", "license", "source")
CARD_FACTOR_KEYS = ("name", "group", "values", "labels", "range")
CARD_OBSERVATION_KEYS = ("shape", "dtype", "values", "size_default")


def preset_dir(kind: str) -> Path:
    """Folder of presets of ``kind`` ("methods", "datasets" or "suites")."""
    installed = _PACKAGE_DIR / "_presets" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / kind


def method_names() -> set[str]:
    """Names of the registered methods, without importing them: one preset per method (tested)."""
    return {path.stem for path in preset_dir("methods").glob("*.yaml")}


def preset_path(kind: str, name: str) -> Path:
    return preset_dir(kind) / f"{name}.yaml"


def load_preset(kind: str, name: str) -> dict[str, Any]:
    """The preset for ``name``, or an empty mapping when there is none."""
    path = preset_path(kind, name)
    if not path.is_file():
        return {}
    return load_yaml_file(path, what=f"{kind[:-1]} preset")


def _refuse_unknown(path: Path, where: str, keys: Any, valid: Any) -> None:
    unknown = [k for k in keys if k not in valid]
    if unknown:
        raise UsageError(
            f"{str(path)!r}: unknown key {unknown[0]!r} in {where}; valid keys: {', '.join(map(str, valid)) or '(none)'}."
        )


def _mapping(path: Path, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{str(path)!r}: {where} must be a mapping of keys to values, got {value!r}.")
    return value


#: validated presets by (file, modification time, size): a suite resolves one preset hundreds of times
_VALIDATED: dict[tuple[str, int, int], dict[str, Any]] = {}


def validate_preset(method: str) -> dict[str, Any]:
    """The preset of ``method``, checked against the method's Config and the dataset registry.

    Every section's hyperparameters are built into the method's Config (so a wrong type
    or value is refused), and every budget is a valid number of steps. A file is read and
    checked once per process while it is unchanged; callers must not modify the result.

    Raises:
        UsageError: naming the file, the key and the valid keys.
    """
    path = preset_path("methods", method)
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None and key in _VALIDATED:
        return _VALIDATED[key]
    preset = _validate_preset(method)
    if key is not None:
        _VALIDATED[key] = preset
    return preset


def _validate_preset(method: str) -> dict[str, Any]:
    from disbench.datasets import DATASETS
    from disbench.methods import METHODS

    method_cls = METHODS.get(method)
    path = preset_path("methods", method)
    preset = load_preset("methods", method)
    if not preset:
        return {}
    _refuse_unknown(path, "the preset", preset, PRESET_KEYS)
    if preset.get("method", method) != method:
        raise UsageError(f"{str(path)!r}: method is {preset['method']!r} but the file is the preset of {method!r}.")
    if not str(preset.get("citation") or "").strip():
        raise UsageError(f"{str(path)!r}: no citation; say where the hyperparameters come from.")
    valid_hyper = field_names(method_cls.Config)

    def check_section(where: str, section: dict[str, Any], base: dict[str, Any]) -> None:
        hyper = _mapping(path, f"{where} hyperparameters", section.get("hyperparameters"))
        _refuse_unknown(path, f"{where} hyperparameters (of method {method!r})", hyper, valid_hyper)
        budget = _mapping(path, f"{where} budget", section.get("budget"))
        _refuse_unknown(path, f"{where} budget", budget, BUDGET_KEYS)
        try:
            build_config(method_cls.Config, {**base, **hyper}, f"method {method!r}")
            if "steps" in budget:
                check_steps(budget["steps"], "budget steps")
        except UsageError as exc:
            raise UsageError(f"{str(path)!r}, {where}: {exc}") from None

    check_section("top-level", preset, {})
    base = dict(_mapping(path, "hyperparameters", preset.get("hyperparameters")))
    per_dataset = _mapping(path, "datasets", preset.get("datasets"))
    _refuse_unknown(path, "datasets (registered datasets)", per_dataset, list(DATASETS))
    for dataset, section in per_dataset.items():
        section = _mapping(path, f"datasets.{dataset}", section)
        _refuse_unknown(path, f"datasets.{dataset}", section, DATASET_SECTION_KEYS)
        check_section(f"datasets.{dataset}", section, base)
    for name in ENTRY_SECTIONS:
        if name in preset:
            section = _entry_section(path, name, preset[name], method_cls.applies_to)
            check_section(name, {"hyperparameters": section.get("hyperparameters"),
                                 "budget": {k: v for k, v in section.items() if k == "steps"}}, base)
    return preset


def _entry_section(path: Path, name: str, value: Any, applies_to: tuple[str, ...] | None) -> dict[str, Any]:
    """The preset's ``quick`` or ``tiny`` section with its keys, datasets and metric names checked
    (its hyperparameters and steps are checked as the preset's own; metric names only as names: the
    metrics are registered above this layer, and a suite checks them before its first entry trains)."""
    from disbench.datasets import DATASETS

    section = _mapping(path, name, value)
    _refuse_unknown(path, name, section, ENTRY_SECTION_KEYS)
    for key in ("datasets", "metrics"):
        if key in section and not (isinstance(section[key], list) and section[key] and all(isinstance(v, str) for v in section[key])):
            raise UsageError(f"{str(path)!r}: {name}.{key} must be a non-empty list of names, got {section[key]!r}.")
    valid = list(applies_to) if applies_to is not None else list(DATASETS)
    wrong = [dataset for dataset in section.get("datasets", []) if dataset not in valid]
    if wrong:
        raise UsageError(f"{str(path)!r}: {name}.datasets names {wrong[0]!r}, which the method does not apply to; "
                         f"valid: {', '.join(valid)}.")
    return section


def preset_entry(method: str, section: str) -> dict[str, Any] | None:
    """The ``quick`` or ``tiny`` section of ``method``'s preset (validated), or None when it has none."""
    if section not in ENTRY_SECTIONS:
        raise ValueError(f"section must be one of {ENTRY_SECTIONS}, got {section!r}")
    preset = validate_preset(method)
    return dict(preset[section] or {}) if section in preset else None


def tiny_overrides(method: str) -> dict[str, Any]:
    """The hyperparameters the tests train ``method`` with (its preset's ``tiny`` section): small networks and batches."""
    return dict((preset_entry(method, "tiny") or {}).get("hyperparameters") or {})


def method_defaults(method: str, dataset: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Hyperparameters and budget a method's preset gives on ``dataset`` (the preset is validated first).

    A preset holds ``hyperparameters`` (all datasets), ``budget`` (``steps``), and
    ``datasets: {name: {hyperparameters: ..., budget: ...}}`` overriding per dataset.

    Returns:
        (hyperparameters, budget) as plain mappings.
    """
    preset = validate_preset(method)
    hyper = dict(preset.get("hyperparameters") or {})
    budget = dict(preset.get("budget") or {})
    per_dataset = (preset.get("datasets") or {}).get(dataset) or {}
    hyper.update(per_dataset.get("hyperparameters") or {})
    budget.update(per_dataset.get("budget") or {})
    return hyper, budget


def validate_card(dataset: str) -> dict[str, Any]:
    """The card of ``dataset``, its known keys checked and what restates the code compared with it.

    Raises:
        UsageError: no card, an unknown or missing key, an option the dataset lacks, or a
            default or factor that differs from the code.
    """
    from disbench.datasets import DATASETS

    dataset_cls = DATASETS.get(dataset)
    path = preset_path("datasets", dataset)
    if not path.is_file():
        raise UsageError(f"dataset {dataset!r} has no card; write {str(path)!r} (see the other cards).")
    card = load_yaml_file(path, what="dataset card")
    _refuse_unknown(path, "the card", card, list(CARD_KEYS))
    missing = [k for k in CARD_REQUIRED if not card.get(k)]
    if missing:
        raise UsageError(f"{str(path)!r}: missing {missing[0]!r} ({CARD_KEYS[missing[0]]}); required: {', '.join(CARD_REQUIRED)}.")
    if card["name"] != dataset:
        raise UsageError(f"{str(path)!r}: name is {card['name']!r} but the file is the card of {dataset!r}.")
    options = field_names(dataset_cls.Config)
    if isinstance(card.get("options"), dict):
        _refuse_unknown(path, "options (of dataset {!r})".format(dataset), card["options"], options)
    if isinstance(card.get("defaults"), dict):
        _refuse_unknown(path, "defaults (of dataset {!r})".format(dataset), card["defaults"], options)
        stated = config_to_dict(build_config(dataset_cls.Config, card["defaults"], f"{str(path)!r} defaults"))
        actual = config_to_dict(dataset_cls.Config())
        wrong = [k for k in card["defaults"] if stated[k] != actual[k]]
        if wrong:
            raise UsageError(
                f"{str(path)!r}: defaults say {wrong[0]}={card['defaults'][wrong[0]]!r} but the code's default is "
                f"{actual[wrong[0]]!r}; correct the card."
            )
    if isinstance(card.get("observations"), dict):
        _refuse_unknown(path, "observations", card["observations"], CARD_OBSERVATION_KEYS)
    if isinstance(card.get("factors"), list):
        for i, factor in enumerate(card["factors"]):
            factor = _mapping(path, f"factors[{i}]", factor)
            _refuse_unknown(path, f"factors[{i}]", factor, CARD_FACTOR_KEYS)
            if not {"name", "group", "values"} <= set(factor):
                raise UsageError(f"{str(path)!r}: factors[{i}] needs name, group and values.")
    return card

