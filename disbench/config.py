"""Hyperparameter dataclasses: filling them from presets, YAML and ``--set``; checking a run's seed, steps and label.

Every method and dataset declares its hyperparameters as a dataclass beside its
code (disent's pattern). Values arrive as YAML scalars or ``--set key=value``
strings; :func:`build_config` converts each to the field's declared type and
refuses unknown keys with a message that names the valid ones.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
import unicodedata
from pathlib import Path
from typing import Any, Mapping

import yaml

from disbench.errors import UsageError

#: seeds are drawn into numpy's and torch's generators; 2**32 - 1 is the largest every one of them takes
MAX_SEED = 2**32 - 1
#: a bound that no real budget reaches; a larger number is a typo (1e20) that would never finish
MAX_STEPS = 10**9

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def field_names(config_cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(config_cls)]


@functools.lru_cache(maxsize=None)
def _type_hints(config_cls: type) -> dict[str, Any]:
    """The resolved field types of a config class (resolving them costs more than building the config)."""
    return typing.get_type_hints(config_cls)


def build_config(config_cls: type, values: Mapping[str, Any], owner: str) -> Any:
    """Instantiate ``config_cls`` from ``values``, converting strings to field types.

    Args:
        config_cls: a dataclass type.
        values: field name -> value (string from the command line, or YAML scalar).
        owner: what the keys belong to, for error messages (``"method 'beta-vae'"``).

    Raises:
        UsageError: an unknown key, or a value that does not convert to the field's type.
    """
    known = field_names(config_cls)
    unknown = [k for k in values if k not in known]
    if unknown:
        raise UsageError(
            f"unknown key {unknown[0]!r} for {owner}; valid keys: {', '.join(known) or '(none)'}."
        )
    hints = _type_hints(config_cls)
    converted = {k: convert_value(v, hints[k], f"{owner} key {k!r}") for k, v in values.items()}
    try:
        config = config_cls(**converted)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"invalid hyperparameters for {owner}: {exc}") from None
    return config


def convert_value(value: Any, annotation: Any, where: str) -> Any:
    """Convert ``value`` to ``annotation`` (int, float, bool, str, tuples, lists, Optional)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in {"none", "null"}):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert_value(value, arg, where)
            except UsageError as exc:
                errors.append(str(exc))
        raise UsageError(errors[0] if errors else f"{where}: cannot convert {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise UsageError(f"{where} must be one of {', '.join(map(str, args))}, got {value!r}.")
    if origin in (tuple, list):
        items = value
        if isinstance(value, str):
            items = [v for v in value.strip("[]()").split(",") if v.strip()]
        if isinstance(items, (int, float)) and not isinstance(items, bool):
            items = [items]  # a YAML scalar where a list is expected: a list of one
        if not isinstance(items, (list, tuple)):
            raise UsageError(f"{where} must be a comma-separated list, got {value!r}.")
        item_type = args[0] if args else str
        converted = [convert_value(v.strip() if isinstance(v, str) else v, item_type, where) for v in items]
        return tuple(converted) if origin is tuple else converted
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise UsageError(f"{where} must be true or false, got {value!r}.")
    if annotation in (int, float):
        if isinstance(value, bool):
            raise UsageError(f"{where} must be a number, got {value!r}.")
        try:
            number = annotation(value) if annotation is float else _to_int(value)
        except (TypeError, ValueError):
            kind = "an integer" if annotation is int else "a number"
            raise UsageError(f"{where} must be {kind}, got {value!r}.") from None
        except OverflowError:  # int("1e400"), int(float("inf"))
            raise UsageError(f"{where} must be a finite number, got {value!r}.") from None
        if annotation is float and not math.isfinite(number):
            # no hyperparameter means anything by nan or inf: a limit that is off is written `none`
            raise UsageError(f"{where} must be a finite number, got {value!r}.")
        return number
    if annotation is str:
        return str(value)
    return value


def _to_int(value: Any) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        as_float = float(text)  # accepts "1e3"
        if not as_float.is_integer():
            raise
        return int(as_float)


def parse_set_options(items: list[str] | None) -> dict[str, str]:
    """``["beta=4", "dataset.num_styles=3"]`` -> ``{"beta": "4", "dataset.num_styles": "3"}``."""
    parsed: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects key=value, got {item!r}.")
        parsed[key.strip()] = value.strip()
    return parsed


def load_yaml_file(path: str | Path, what: str = "config") -> dict[str, Any]:
    """Read a YAML mapping; a missing, unreadable or non-mapping file is a UsageError."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{what} file {str(path)!r} is a folder; give the YAML file inside it.")
    if not path.is_file():
        raise UsageError(f"{what} file {str(path)!r} does not exist; check the path.")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"{what} file {str(path)!r} is not valid YAML: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{what} file {str(path)!r} must hold a mapping of keys to values.")
    return data


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass as plain YAML-safe data (tuples become lists)."""
    if config is None:
        return {}
    return {k: config_to_dict_value(v) for k, v in dataclasses.asdict(config).items()}


def spec_values(config: Any) -> dict[str, Any]:
    """:func:`config_to_dict` as a run's spec records it (and its run id hashes it).

    A config class lists in ``recorded_only_when_set`` the keys added after runs were already
    being made: at their default they are left out, so that a run made before the key existed
    keeps its id, and its folder is still found, skipped and resumed.
    """
    values = config_to_dict(config)
    defaults = {f.name: f for f in dataclasses.fields(config)} if config is not None else {}
    for key in getattr(type(config), "recorded_only_when_set", ()):
        field = defaults[key]
        default = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
        if key in values and values[key] == config_to_dict_value(default):
            del values[key]
    return values


def config_to_dict_value(value: Any) -> Any:
    """One value as :func:`config_to_dict` writes it (tuples become lists)."""
    if isinstance(value, (tuple, list)):
        return [config_to_dict_value(v) for v in value]
    if isinstance(value, dict):
        return {k: config_to_dict_value(v) for k, v in value.items()}
    return value


def check_seed(seed: Any, what: str = "--seed") -> int:
    """``seed`` as an int in [0, MAX_SEED], or a UsageError naming the valid range."""
    if isinstance(seed, bool) or not isinstance(seed, (int, float, str)):
        raise UsageError(f"{what} must be a whole number from 0 to {MAX_SEED}, got {seed!r}.")
    try:
        number = float(seed) if isinstance(seed, str) else seed
        if not math.isfinite(number) or number != int(number):
            raise ValueError(seed)
        number = int(number)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{what} must be a whole number from 0 to {MAX_SEED}, got {seed!r}.") from None
    if not 0 <= number <= MAX_SEED:
        raise UsageError(f"{what} must be between 0 and {MAX_SEED}, got {number}.")
    return number


def check_steps(steps: Any, what: str = "--steps") -> int:
    """``steps`` as an int in [1, MAX_STEPS], or a UsageError naming the valid range."""
    try:
        number = float(steps) if isinstance(steps, str) else steps
        if isinstance(number, bool) or not math.isfinite(number) or number != int(number):
            raise ValueError(steps)
        number = int(number)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{what} must be a positive whole number of steps, got {steps!r}.") from None
    if number < 1:
        raise UsageError(f"{what} must be a positive number of steps, got {number}.")
    if number > MAX_STEPS:
        raise UsageError(f"{what} must be at most {MAX_STEPS:,} steps, got {number:.3g}; check for a typo.")
    return number


def check_label(label: str | None) -> str | None:
    """A run label is one visible line: refuse empty names and control characters (newlines, tabs)."""
    if label is None:
        return None
    if not isinstance(label, str):
        raise UsageError(f"a run label (--name) must be text, got {label!r}; quote it in YAML.")
    if not label.strip():
        raise UsageError("a run label (--name) must not be empty; give a short name such as 'beta8-long'.")
    bad = [c for c in label if unicodedata.category(c).startswith("C")]
    if bad:
        raise UsageError(
            f"a run label (--name) must be one line without control characters, got {label!r} "
            f"(contains {bad[0]!r}); use letters, digits, spaces or punctuation."
        )
    return label
