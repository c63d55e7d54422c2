"""Score codes against factors from Python: the library face of ``disbench eval --codes``.

:func:`score` returns the leaderboard's columns as a pandas DataFrame;
:func:`score_codes` is the one path both it and the CLI take (the CLI adds the
provenance columns and writes the rows to a leaderboard). Each codes metric is
also a function of ``disbench.metrics`` (``mig(codes, factors).value``), built by
:mod:`disbench.metrics.functions` on the same path.

Inputs may be NumPy arrays, nested lists or torch tensors (read without
importing torch). Nothing is printed; a bad input raises
:class:`~disbench.errors.UsageError` with the message the CLI prints. What is
public is listed in ``disbench.__all__`` and ``disbench.metrics.__all__`` and in
docs/api.md; everything else is private and may change between releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from disbench.datasets.base import Factor
from disbench.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas

#: the columns :func:`score` returns, in order (a subset of the leaderboard's)
SCORE_COLUMNS = ("metric", "space", "factor", "value", "metric_options")

#: the space name of a codes array (a trained run names its spaces after its method's)
CODES_SPACE = "latent"

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


def flatten_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"mig": {"num_bins": 10}}`` or ``{"mig.num_bins": 10}`` as ``--set`` keys (``mig.num_bins``)."""
    flat: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if isinstance(value, Mapping):
            flat.update({f"{key}.{option}": v for option, v in value.items()})
        else:
            flat[key] = value
    return flat


@dataclass
class ScoredCodes:
    """What :func:`score_codes` did: leaderboard rows, results.json-style entries, skipped metrics."""

    rows: list[dict[str, Any]]
    details: dict[str, dict[str, Any]]
    skipped: list[tuple[str, str]]


def score_codes(
    codes: Any,
    factors: Any,
    metrics: Sequence[str],
    factor_info: list[Factor] | None = None,
    test: tuple[Any, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    seed: int = 0,
    provenance: dict[str, Any] | None = None,
    progress: Any = None,
    description: str = "codes",
) -> ScoredCodes:
    """Score ``codes`` against ``factors`` with the codes metrics named in ``metrics``.

    Names and options are checked before any work (``all`` expands to every codes metric,
    an encoder metric named here is refused); codes, factors and the held-out split are
    checked as the CLI checks them.

    Args:
        codes: ``(N, d)`` codes; factors: ``(N, F)`` factor values.
        metrics: metric names, or ``["all"]``.
        factor_info: one :class:`Factor` per factor column; None infers them.
        test: ``(test_codes, test_factors)``, a held-out split for the metrics that fit a
            predictor; None lets each metric split the points 2:1 with ``seed``.
        overrides: ``{"METRIC.OPTION": value}`` (``--set``).
        seed: seed of every metric (each metric starts from ``np.random.default_rng(seed)``).
        provenance: columns every row carries (the CLI's run id, versions, ...).
        progress, description: a progress hook (the CLI's bars) and its label.

    Raises:
        UsageError: a bad metric name or option, or bad arrays.
    """
    from disbench.metrics.base import MetricInput, check_codes, check_factors, check_metric_input
    from disbench.metrics.selection import resolve_metric_names, resolve_metric_options
    from disbench.evaluation.scoring import EvalPoints, score_points

    if isinstance(metrics, str):
        metrics = [metrics]
    names, skipped = resolve_metric_names(list(metrics), codes_only=True)
    options = resolve_metric_options(names, dict(overrides or {}))
    codes = check_codes(as_array(codes, "codes"))
    factors = as_array(factors, "factors")
    if factor_info is None:
        factor_info = factor_info_for(factors, None)
    factors = check_factors(factors, factor_info, len(codes))
    test_spaces = test_factors = None
    if test is not None:
        if not isinstance(test, (tuple, list)) or len(test) != 2:
            raise UsageError("test must be a pair (test_codes, test_factors).")
        checked = check_metric_input(
            MetricInput(codes, factors, factor_info, as_array(test[0], "test codes"), as_array(test[1], "test factors"))
        )
        test_spaces, test_factors = {CODES_SPACE: checked.test_codes}, checked.test_factors
    points = EvalPoints({CODES_SPACE: codes}, factors, factor_info, test_spaces, test_factors)
    scored = score_points(points, options, dict(provenance or {}), seed, progress, description)
    return ScoredCodes(scored.rows, scored.details, skipped + scored.skipped)


def score(
    codes: Any,
    factors: Any,
    metrics: Sequence[str] = ("mig", "dci"),
    factor_kinds: str | Sequence[str] | None = None,
    test: tuple[Any, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> "pandas.DataFrame":
    """Score a representation: one row per (metric, factor), as in a leaderboard.

    Args:
        codes: ``(N, d)`` codes (NumPy array, list of rows, or torch tensor).
        factors: ``(N, F)`` ground-truth factor values (indices for discrete factors).
        metrics: codes metric names (``disbench list metrics``), or ``["all"]``.
        factor_kinds: None (integer-valued columns are discrete), a registered dataset name
            (its factor names and kinds), or ``"discrete"`` / ``"continuous"`` per column.
        test: ``(test_codes, test_factors)``: held-out points for the metrics that fit a
            predictor (dci, sap, r2, ...); None splits ``codes`` 2:1.
        options: metric options, ``{"mig": {"num_bins": 10}}`` or ``{"mig.num_bins": 10}``.
        seed: seed of the metrics.

    Returns:
        DataFrame with columns ``metric, space, factor, value, metric_options``; factor
        ``"all"`` is the metric's aggregate. Metrics that do not apply to these data (e.g. a
        gap metric on one code dimension) are left out; ``DataFrame.attrs["skipped"]`` lists
        them with the reason.

    Raises:
        UsageError: a bad metric name or option, or bad arrays (the CLI's messages).
    """
    import pandas as pd

    factors_array = as_array(factors, "factors")
    scored = score_codes(
        codes,
        factors_array,
        metrics,
        factor_info_for(factors_array, factor_kinds),
        test,
        flatten_options(options),
        seed,
    )
    frame = pd.DataFrame(
        [{column: row[column] for column in SCORE_COLUMNS} for row in scored.rows], columns=list(SCORE_COLUMNS)
    )
    frame.attrs["skipped"] = list(scored.skipped)
    return frame
