"""A user's codes and factors read into a checked :class:`~disbench.metrics.base.MetricInput`.

The one reading of codes arrays shared by ``disbench eval --codes``, :func:`disbench.score`
and the metric functions (``disbench.metrics.mig(codes, factors)``): the same accepted
types, factor kinds and messages everywhere.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from disbench.datasets.base import Factor
from disbench.errors import UsageError
from disbench.metrics.base import MetricInput, check_codes, check_factors, check_metric_input

FACTOR_KINDS = ("discrete", "continuous")


def as_array(values: Any, what: str) -> np.ndarray:
    """``values`` (array, nested list, torch tensor) as a NumPy array, or a UsageError saying why not."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor, without importing torch
        values = values.detach().cpu().numpy()
    ragged = f"{what} are ragged or hold non-numbers; pass an N x d array of numbers (equal-length rows)."
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        raise UsageError(ragged) from None
    if array.dtype == object:
        raise UsageError(ragged)
    return array


def infer_factor_info(factors: np.ndarray) -> list[Factor]:
    """Factors of a bare array: integer-valued columns are discrete, the others continuous."""
    info = []
    for j in range(factors.shape[1]):
        column = factors[:, j]
        discrete = bool(np.all(np.isfinite(column)) and np.all(column == np.round(column)))
        info.append(Factor(f"factor[{j}]", "content", int(len(np.unique(column))) if discrete else None))
    return info


def factor_info_for(factors: np.ndarray, factor_kinds: str | Sequence[str] | None) -> list[Factor]:
    """The :class:`Factor` description of the columns of ``factors``.

    Args:
        factors: ``(N, F)`` factor values (as given; checked later).
        factor_kinds: None (integer-valued columns are discrete, the others continuous), a
            registered dataset's name (its factor names and kinds), or one of ``"discrete"`` /
            ``"continuous"`` per column.
    """
    if isinstance(factor_kinds, str):
        from disbench.config import build_config
        from disbench.datasets import DATASETS

        dataset_cls = DATASETS.get(factor_kinds)
        return dataset_cls(build_config(dataset_cls.Config, {}, f"dataset {factor_kinds!r}")).factors
    readable = factors.ndim == 2 and np.issubdtype(factors.dtype, np.number) and not np.iscomplexobj(factors)
    if factor_kinds is None:
        return infer_factor_info(factors) if readable else []
    kinds = list(factor_kinds)
    unknown = [k for k in kinds if k not in FACTOR_KINDS]
    if unknown:
        raise UsageError(f"factor kind {unknown[0]!r} is not one of {', '.join(FACTOR_KINDS)}; give one per factor column.")
    if factors.ndim == 2 and len(kinds) != factors.shape[1]:
        raise UsageError(f"factor_kinds names {len(kinds)} kinds but the factors have {factors.shape[1]} columns; give one per column.")
    info = []
    for j, kind in enumerate(kinds):
        size = int(len(np.unique(factors[:, j]))) if kind == "discrete" and readable else None
        info.append(Factor(f"factor[{j}]", "content", size if kind == "discrete" else None))
    return info


def codes_metric_input(
    codes: Any, factors: Any, factor_info: list[Factor] | None = None, test: tuple[Any, Any] | None = None
) -> MetricInput:
    """``codes`` and ``factors`` (and a held-out ``test`` pair) checked as the CLI checks them.

    Args:
        codes: ``(N, d)`` codes; factors: ``(N, F)`` factor values (arrays, lists of rows, tensors).
        factor_info: one :class:`Factor` per factor column; None infers them.
        test: ``(test_codes, test_factors)`` or None.

    Raises:
        UsageError: what is wrong with which array, and what to pass instead.
    """
    codes = check_codes(as_array(codes, "codes"))
    factors = as_array(factors, "factors")
    if factor_info is None:
        factor_info = factor_info_for(factors, None)
    factors = check_factors(factors, factor_info, len(codes))
    if test is None:
        return MetricInput(codes, factors, factor_info)
    if not isinstance(test, (tuple, list)) or len(test) != 2:
        raise UsageError("test must be a pair (test_codes, test_factors).")
    return check_metric_input(
        MetricInput(codes, factors, factor_info, as_array(test[0], "test codes"), as_array(test[1], "test factors"))
    )
