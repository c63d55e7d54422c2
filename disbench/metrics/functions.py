"""Each codes metric as a Python function: ``mig(codes, factors, num_bins=20).value``.

The functions are built from the registry, so a metric registered in its own file
gets its function without another line. Each call reads its arrays with
:func:`~disbench.metrics.codes_input.codes_metric_input` and its options with
:meth:`~disbench.metrics.base.MetricInfo.build_options`, as ``disbench eval --codes``
and :func:`disbench.score` do: the same checks, options, seed and messages.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from disbench.errors import UsageError
from disbench.metrics.base import CodesMetric, MetricNotApplicable, MetricResult
from disbench.metrics.codes_input import as_array, codes_metric_input, factor_info_for


def function_name(metric_name: str) -> str:
    """The Python name of a metric's function (``linear-probe`` -> ``linear_probe``)."""
    return metric_name.replace("-", "_").replace(".", "_")


def metric_function(info: CodesMetric) -> Callable[..., MetricResult]:
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
        factors = as_array(factors, "factors")
        factor_info = factor_info_for(factors, factor_kinds)
        metric_options = info.build_options(options)
        data = codes_metric_input(codes, factors, factor_info, test)
        try:
            return info.compute(data, metric_options, np.random.default_rng(seed))
        except MetricNotApplicable as exc:
            raise UsageError(f"metric {info.name!r} does not apply to these data: {exc}") from None

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
    return {function_name(info.name): metric_function(info) for _, info in metrics.items() if isinstance(info, CodesMetric)}
