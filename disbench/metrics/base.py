"""The Metric contract and registry.

A metric is a pure function of arrays, deterministic for a seed. Two kinds:

- ``needs="codes"``: ``compute(data: MetricInput, options, rng) -> MetricResult``
  scores a codes array against factors (MIG, SAP, DCI, R^2, ...). It runs on
  codes files as well as on trained runs.
- ``needs="encoder"``: ``compute(encode, space, dataset, options, rng) -> MetricResult``
  draws its own batches from the dataset (BetaVAE and FactorVAE scores hold one
  factor fixed), so it needs the trained method, not just codes. ``encode(observations,
  factors) -> Representation`` runs the method; :func:`space_codes` picks the scored space.

Each metric declares an ``Options`` dataclass; ``--set NAME.key=value`` fills
it, and every resolved option is recorded in the leaderboard row.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np

from disbench.datasets.base import Factor
from disbench.errors import UsageError
from disbench.registry import Registry

AGGREGATE = "all"


class MetricNotApplicable(UsageError):
    """The metric does not apply to this data (e.g. it needs discrete factors); ``--metric all`` skips it."""


@dataclass(frozen=True)
class Score:
    """One number: ``metric`` may be a sub-score (``"dci.completeness"``); ``factor`` is a factor name or ``"all"``."""

    metric: str
    value: float
    factor: str = AGGREGATE


@dataclass
class MetricResult:
    scores: list[Score]
    #: arrays and extra numbers kept in the run's results.json (matrices, per-factor gaps, ...)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class MetricInput:
    """Codes and factors for a codes metric.

    Attributes:
        codes: ``(N, d)`` float array, the training (or only) split.
        factors: ``(N, F)`` array of factor values (indices for discrete factors).
        factor_info: one :class:`Factor` per column of ``factors``.
        test_codes, test_factors: a held-out split for metrics that fit a predictor.
    """

    codes: np.ndarray
    factors: np.ndarray
    factor_info: list[Factor]
    test_codes: np.ndarray | None = None
    test_factors: np.ndarray | None = None

    @property
    def factor_names(self) -> list[str]:
        return [f.name for f in self.factor_info]

    def train_test(self, rng: np.random.Generator, test_fraction: float = 1 / 3):
        """The held-out split if one was given, else a seeded random split of the points."""
        if self.test_codes is not None and self.test_factors is not None:
            return self.codes, self.factors, self.test_codes, self.test_factors
        n = len(self.codes)
        order = rng.permutation(n)
        n_test = max(1, int(round(n * test_fraction)))
        test, train = order[:n_test], order[n_test:]
        return self.codes[train], self.factors[train], self.codes[test], self.factors[test]


@dataclass
class NoOptions:
    """This metric has no options."""


@dataclass(frozen=True)
class MetricInfo:
    name: str
    compute: Callable[..., MetricResult]
    needs: Literal["codes", "encoder"]
    higher_is_better: bool
    value_range: tuple[float, float]
    reference: str
    summary: str
    Options: type = NoOptions

    def default_options(self) -> Any:
        return self.Options()

    def option_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.Options)]


METRICS: Registry[MetricInfo] = Registry("metric")


def register_metric(
    name: str,
    *,
    needs: Literal["codes", "encoder"] = "codes",
    higher_is_better: bool = True,
    value_range: tuple[float, float] = (0.0, 1.0),
    reference: str = "",
    summary: str = "",
    options: type = NoOptions,
) -> Callable[[Callable[..., MetricResult]], Callable[..., MetricResult]]:
    """Register ``compute`` as metric ``name`` (see the module docstring for its signature)."""

    def decorate(compute: Callable[..., MetricResult]) -> Callable[..., MetricResult]:
        doc_line = (compute.__doc__ or "").strip().splitlines()
        info = MetricInfo(
            name=name,
            compute=compute,
            needs=needs,
            higher_is_better=higher_is_better,
            value_range=value_range,
            reference=reference,
            summary=summary or (doc_line[0] if doc_line else ""),
            Options=options,
        )
        METRICS.register(name)(info)
        return compute

    return decorate


def space_codes(representation, space: str) -> np.ndarray:
    """Codes of ``space`` in a Representation (``"joint"`` concatenates every space)."""
    if space == "joint" and "joint" not in representation.spaces:
        return representation.joint()
    return representation.spaces[space]


def check_codes(codes: np.ndarray, what: str = "codes") -> np.ndarray:
    """Codes as a finite 2-D float array, or a UsageError saying what is wrong."""
    codes = np.asarray(codes)
    if codes.ndim == 1:
        raise UsageError(f"{what} are 1-D (shape {codes.shape}); pass a 2-D array of N samples x d dimensions.")
    if codes.ndim != 2:
        raise UsageError(f"{what} must be 2-D (N samples x d dimensions), got shape {codes.shape}.")
    if not np.issubdtype(codes.dtype, np.number):
        raise UsageError(f"{what} must be numeric, got dtype {codes.dtype}.")
    codes = codes.astype(np.float64, copy=False)
    if not np.isfinite(codes).all():
        bad = int((~np.isfinite(codes)).any(axis=1).sum())
        raise UsageError(f"{what} hold NaN or infinite values in {bad} rows; remove or fix those rows.")
    return codes
