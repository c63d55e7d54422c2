"""Score codes against factors from Python: the library face of ``disbench eval --codes``.

:func:`score` returns the leaderboard's columns as a pandas DataFrame, through
:func:`disbench.evaluation.codes.score_codes`, the path the CLI takes too (the CLI adds
the provenance columns and writes the rows to a leaderboard). Each codes metric is
also a function of ``disbench.metrics`` (``mig(codes, factors).value``), built by
:mod:`disbench.metrics.functions` on the same reading of arrays and options.

Inputs may be NumPy arrays, nested lists or torch tensors (read without
importing torch). Nothing is printed; a bad input raises
:class:`~disbench.errors.UsageError` with the message the CLI prints. What is
public is listed in ``disbench.__all__`` and ``disbench.metrics.__all__`` and in
docs/api.md; everything else is private and may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from disbench.evaluation.codes import score_codes
from disbench.metrics.codes_input import as_array, factor_info_for

if TYPE_CHECKING:  # pragma: no cover
    import pandas

#: the columns :func:`score` returns, in order (a subset of the leaderboard's)
SCORE_COLUMNS = ("metric", "space", "factor", "value", "metric_options")


def flatten_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"mig": {"num_bins": 10}}`` or ``{"mig.num_bins": 10}`` as ``--set`` keys (``mig.num_bins``)."""
    flat: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if isinstance(value, Mapping):
            flat.update({f"{key}.{option}": v for option, v in value.items()})
        else:
            flat[key] = value
    return flat


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
