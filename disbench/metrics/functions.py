"""Each codes metric as a Python function: ``mig(codes, factors, num_bins=20).value``.

The functions are built from the registry, so a metric registered in its own file
gets its function without another line. Each call takes the path of
:func:`disbench.api.score_codes` (the one ``disbench eval --codes`` takes): the same
checks, options, seed and messages.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from disbench.metrics.base import MetricInfo, MetricResult, Score


def function_name(metric_name: str) -> str:
    """The Python name of a metric's function (``linear-probe`` -> ``linear_probe``)."""
    return metric_name.replace("-", "_").replace(".", "_")


def metric_function(info: MetricInfo) -> Callable[..., MetricResult]:
    """The function scoring codes with metric ``info`` (keyword arguments are its options)."""

    def compute(
        codes: Any,
        factors: Any,
        *,
        factor_kinds: str | Sequence[str] | None = None,
        test: tuple[Any, Any] | None = None,
        seed: int = 0,
        **options: Any,
    ) -> MetricResult:
        from disbench.api import CODES_SPACE, as_array, factor_info_for, score_codes
        from disbench.errors import UsageError

        factors = as_array(factors, "factors")
        overrides = {f"{info.name}.{key}": value for key, value in options.items()}
        scored = score_codes(codes, factors, [info.name], factor_info_for(factors, factor_kinds), test, overrides, seed)
        if info.name not in scored.details:
            raise UsageError(f"metric {info.name!r} does not apply to these data: {scored.skipped[0][1]}")
        entry = scored.details[info.name][CODES_SPACE]
        return MetricResult([Score(**score) for score in entry["scores"]], entry["details"])

    compute.__name__ = compute.__qualname__ = function_name(info.name)
    compute.__module__ = "disbench.metrics"
    compute.__doc__ = (
        f"{info.summary}.\n\n"
        f"Reference: {info.reference}.\n\n"
        f"``{function_name(info.name)}(codes, factors, *, factor_kinds=None, test=None, seed=0, **options)``: "
        f"options are the fields of ``{info.Options.__name__}`` ({', '.join(info.option_names()) or 'none'}). "
        "Returns a MetricResult: ``.value`` (the aggregate), ``.values`` (every aggregate score), "
        "``.scores`` (per factor too), ``.details``."
    )
    return compute


def codes_metric_functions(metrics: Any) -> dict[str, Callable[..., MetricResult]]:
    """``{python name: function}`` for every codes metric of the registry ``metrics``."""
    return {function_name(info.name): metric_function(info) for _, info in metrics.items() if info.needs == "codes"}
