"""Which metrics a request computes, and with which options.

``--metric`` names (``all`` expands to every registered metric) and ``--set
METRIC.OPTION=VALUE`` overrides resolve here, beside the registry, so the CLI and
the API resolve them the same way. An option declared with
``field(metadata={"budget": "n_eval"})`` (or ``"n_test"``) follows the evaluation
budget (:meth:`~disbench.metrics.base.MetricInfo.build_options`): when the user does
not set it, it is ``min(default, budget)``, so ``--n-eval 500`` makes the BetaVAE
score draw 500 training points instead of dlib's 10,000, and the row's
``metric_options`` say so.
"""

from __future__ import annotations

from typing import Any

from disbench.errors import UsageError
from disbench.metrics.base import CodesMetric
from disbench.registry import Registry

ALL = "all"


def metric_registry() -> Registry:
    """The metric registry with every metric registered (importing the package registers them)."""
    import disbench.metrics  # noqa: F401  (registers every metric)
    from disbench.metrics.base import METRICS

    return METRICS


def resolve_metric_names(names: list[str], codes_only: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand ``all`` and validate names.

    Args:
        names: metric names as given (``["all"]``, ``["mig", "sap"]``).
        codes_only: only codes are available (``eval --codes``): encoder metrics are skipped
            under ``all`` and refused when named.

    Returns:
        ``(names, skipped)``: the metrics to compute, in registry order for ``all``, and
        ``(metric, reason)`` for those ``all`` leaves out.

    Raises:
        UsageError: no name, an unknown name (with close matches), or an encoder metric named
            for codes.
    """
    registry = metric_registry()
    if not names:
        raise UsageError("name at least one --metric (or --metric all); `disbench list metrics` shows them.")
    skipped: list[tuple[str, str]] = []
    if ALL in names:
        resolved = list(registry)
    else:
        resolved = []
        for name in names:
            registry.get(name)  # raises with close matches
            if name not in resolved:
                resolved.append(name)
    if codes_only:
        for name in list(resolved):
            if not isinstance(registry.get(name), CodesMetric):
                if ALL not in names:
                    raise UsageError(
                        f"metric {name!r} needs the trained encoder and its dataset, not just codes; "
                        "score a trained run instead of --codes."
                    )
                resolved.remove(name)
                skipped.append((name, "needs the encoder and dataset, not codes"))
    return resolved, skipped


def resolve_metric_options(
    names: list[str], overrides: dict[str, Any], budget: dict[str, int] | None = None
) -> dict[str, Any]:
    """Options of every metric in ``names``.

    Args:
        names: resolved metric names.
        overrides: ``{"dci.estimator": "lasso", ...}`` from ``--set``.
        budget: ``{"n_eval": ..., "n_test": ...}``; options declared with a ``budget`` metadata
            key default to ``min(their default, budget[key])``. None: dataclass defaults.

    Returns:
        ``{name: Options instance}``.

    Raises:
        UsageError: a key not of the form METRIC.OPTION, a metric not being computed, an
            unknown option or a bad value.
    """
    registry = metric_registry()
    per_metric: dict[str, dict[str, Any]] = {name: {} for name in names}
    for key, value in overrides.items():
        metric, dot, option = key.partition(".")
        if not dot:
            raise UsageError(f"eval --set keys take the form METRIC.OPTION (e.g. mig.num_bins=20), got {key!r}.")
        if metric not in per_metric:
            registry.get(metric)  # unknown metric: close matches
            raise UsageError(f"--set {key}: metric {metric!r} is not being computed; add --metric {metric}.")
        per_metric[metric][option] = value
    return {name: registry.get(name).build_options(values, budget) for name, values in per_metric.items()}

