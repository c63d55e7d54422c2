"""The Metric contract and registry.

A metric is a pure function of arrays, deterministic for a seed. What it needs is its
kind, a class, chosen by the helper that registers it:

- :func:`register_codes_metric` (a :class:`CodesMetric`): ``compute(data: MetricInput,
  options, rng) -> MetricResult`` scores a codes array against factors (MIG, SAP, DCI,
  R^2, ...). It runs on codes files as well as on trained runs.
- :func:`register_encoder_metric` (an :class:`EncoderMetric`): ``compute(encode, space,
  dataset, options, rng) -> MetricResult`` draws its own batches from the dataset (BetaVAE
  and FactorVAE scores hold one factor fixed), so it needs the trained method, not just
  codes. ``encode(observations, factors) -> Representation`` runs the method;
  :func:`disbench.methods.representation.space_codes` picks the scored space.
- :func:`register_run_group_metric` (a :class:`RunGroupMetric`): ``compute(members:
  list[RunMember], options, rng) -> list[MetricResult]`` scores the runs of one
  configuration together (the runs that differ in seed only; UDR compares seeds), one
  result per member in order. Evaluation groups the runs it is given
  (:func:`disbench.evaluation.evaluate_runs`); a group of one is skipped.

Scoring and evaluation tell the kinds apart by class (``isinstance``), never by a string.

Each metric declares an ``Options`` dataclass; ``--set NAME.key=value`` fills
it, and every resolved option is recorded in the leaderboard row.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from disbench.datasets.base import Factor
from disbench.config import build_config
from disbench.errors import UsageError
from disbench.metrics.discretize import label_indices
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
    #: this score's direction when it differs from its metric's (e.g. a fraction of correct counts)
    higher_is_better: bool | None = None


@dataclass
class MetricResult:
    scores: list[Score]
    #: arrays and extra numbers kept in the run's results.json (matrices, per-factor gaps, ...)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def values(self) -> dict[str, float]:
        """``{score name: value}`` of the aggregate scores (factor ``"all"``)."""
        return {s.metric: s.value for s in self.scores if s.factor == AGGREGATE}

    @property
    def value(self) -> float:
        """The aggregate score, when the metric has one (``dci`` has three: read :attr:`values`)."""
        values = self.values
        if len(values) != 1:
            raise UsageError(
                f"this result has {len(values)} aggregate scores ({', '.join(values)}); read .values[name]."
            )
        return next(iter(values.values()))

    def per_factor(self, metric: str | None = None) -> dict[str, float]:
        """``{factor: value}`` of one score (the only one when ``metric`` is None)."""
        metric = metric or next(iter(self.values), None) or self.scores[0].metric
        return {s.factor: s.value for s in self.scores if s.metric == metric and s.factor != AGGREGATE}


@dataclass
class MetricInput:
    """Codes and factors for a codes metric.

    Attributes:
        codes: ``(N, d)`` float array, the training (or only) split.
        factors: ``(N, F)`` array of factor values (indices for discrete factors).
        factor_info: one :class:`Factor` per column of ``factors``.
        test_codes, test_factors: a held-out split for metrics that fit a predictor.
        draw: ``draw(n, rng) -> (codes, factors)``, ``n`` fresh points of this space, when the
            evaluation has the encoder (None for codes files); ``r2`` fits on fresh points as
            its reference does.
        device: the evaluation's torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``); ``r2`` runs
            its kernel ridge solves there when it is a GPU.
    """

    codes: np.ndarray
    factors: np.ndarray
    factor_info: list[Factor]
    test_codes: np.ndarray | None = None
    test_factors: np.ndarray | None = None
    draw: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]] | None = None
    device: str = "cpu"

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
class RunMember:
    """One trained run of a configuration group, for a :class:`RunGroupMetric`.

    Attributes:
        run_id: the run's id.
        method: the trained method (``encode``, and ``model.posterior`` for the VAE family).
        dataset: its dataset (every member of a group has the same).
    """

    run_id: str
    method: Any
    dataset: Any


@dataclass
class NoOptions:
    """This metric has no options."""


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric; its class (:class:`CodesMetric`, :class:`EncoderMetric`,
    :class:`RunGroupMetric`) says what ``compute`` takes."""

    name: str
    compute: Callable[..., Any]
    higher_is_better: bool
    value_range: tuple[float, float]
    reference: str
    summary: str
    Options: type = NoOptions
    #: what the metric needs, in words (the ``needs`` column of ``disbench list metrics``)
    needs: ClassVar[str]

    def default_options(self) -> Any:
        return self.Options()

    def option_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.Options)]

    def build_options(self, values: dict[str, Any], budget: dict[str, int] | None = None) -> Any:
        """The metric's ``Options`` from ``values`` (``--set``); an option declared with
        ``field(metadata={"budget": "n_eval"})`` (or ``"n_test"``) left unset is
        ``min(default, budget[key])`` (:mod:`disbench.metrics.selection`)."""
        return build_config(self.Options, {**budget_defaults(self.Options, budget or {}), **values}, f"metric {self.name!r}")


class CodesMetric(MetricInfo):
    """``compute(data: MetricInput, options, rng) -> MetricResult``: scores codes against factors."""

    needs = "codes"


class EncoderMetric(MetricInfo):
    """``compute(encode, space, dataset, options, rng) -> MetricResult``: draws and encodes its own batches."""

    needs = "encoder"


class RunGroupMetric(MetricInfo):
    """``compute(members: list[RunMember], options, rng) -> list[MetricResult]``: the seeds of one configuration."""

    needs = "runs"


def budget_defaults(options_class: type, budget: dict[str, int]) -> dict[str, int]:
    """``{option: min(default, budget)}`` for the options of ``options_class`` that follow a budget."""
    values = {}
    for option in dataclasses.fields(options_class):
        key = option.metadata.get("budget")
        if key is not None and key in budget and isinstance(option.default, int):
            values[option.name] = max(1, min(option.default, int(budget[key])))
    return values


METRICS: Registry[MetricInfo] = Registry("metric")


def _register(
    kind: type[MetricInfo],
    name: str,
    *,
    higher_is_better: bool = True,
    value_range: tuple[float, float] = (0.0, 1.0),
    reference: str = "",
    summary: str = "",
    options: type = NoOptions,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(compute: Callable[..., Any]) -> Callable[..., Any]:
        doc_line = (compute.__doc__ or "").strip().splitlines()
        info = kind(
            name=name,
            compute=compute,
            higher_is_better=higher_is_better,
            value_range=value_range,
            reference=reference,
            summary=summary or (doc_line[0] if doc_line else ""),
            Options=options,
        )
        METRICS.register(name)(info)
        return compute

    return decorate


def register_codes_metric(name: str, **metadata: Any) -> Callable[[Callable[..., MetricResult]], Callable[..., MetricResult]]:
    """Register ``compute(data: MetricInput, options, rng) -> MetricResult`` as codes metric ``name``.

    ``metadata``: ``higher_is_better`` (True), ``value_range`` ((0, 1)), ``reference``,
    ``summary`` (default: the first line of ``compute``'s docstring) and ``options`` (the
    metric's Options dataclass).
    """
    return _register(CodesMetric, name, **metadata)


def register_encoder_metric(name: str, **metadata: Any) -> Callable[[Callable[..., MetricResult]], Callable[..., MetricResult]]:
    """Register ``compute(encode, space, dataset, options, rng) -> MetricResult`` as encoder metric ``name``
    (``metadata`` as for :func:`register_codes_metric`)."""
    return _register(EncoderMetric, name, **metadata)


def register_run_group_metric(
    name: str, **metadata: Any
) -> Callable[[Callable[..., list[MetricResult]]], Callable[..., list[MetricResult]]]:
    """Register ``compute(members: list[RunMember], options, rng) -> list[MetricResult]`` as run-group
    metric ``name`` (``metadata`` as for :func:`register_codes_metric`)."""
    return _register(RunGroupMetric, name, **metadata)


def check_codes(codes: np.ndarray, what: str = "codes") -> np.ndarray:
    """Codes as a finite 2-D float array, or a UsageError saying what is wrong."""
    codes = np.asarray(codes)
    if codes.ndim == 1:
        raise UsageError(f"{what} are 1-D (shape {codes.shape}); pass a 2-D array of N samples x d dimensions.")
    if codes.ndim != 2:
        raise UsageError(f"{what} must be 2-D (N samples x d dimensions), got shape {codes.shape}.")
    if not np.issubdtype(codes.dtype, np.number):
        raise UsageError(f"{what} must be numeric, got dtype {codes.dtype}.")
    _refuse_complex(codes, what)
    codes = codes.astype(np.float64, copy=False)
    if not np.isfinite(codes).all():
        bad = int((~np.isfinite(codes)).any(axis=1).sum())
        raise UsageError(f"{what} hold NaN or infinite values in {bad} rows; remove or fix those rows.")
    return codes


def _refuse_complex(array: np.ndarray, what: str) -> None:
    if np.iscomplexobj(array):
        raise UsageError(
            f"{what} are complex (dtype {array.dtype}); pass real values, e.g. the real and imaginary "
            "parts as separate columns (np.concatenate([z.real, z.imag], axis=1))."
        )


#: factor values must fit in int64 once they are read as integers
_INT64_LIMIT = float(np.iinfo(np.int64).max)


def check_factors(
    factors: np.ndarray,
    factor_info: list[Factor],
    num_samples: int | None = None,
    what: str = "factors",
) -> np.ndarray:
    """Factors as a 2-D array matching ``factor_info``, or a UsageError saying what is wrong.

    Discrete factors (``Factor.num_values`` set) must hold integer values within int64 and
    at least two distinct values, and not one sample per value (a label that never
    repeats cannot be predicted or binned). Continuous factors must be finite and
    not constant.

    Args:
        factors: ``(N, F)`` factor values.
        factor_info: one :class:`Factor` per column.
        num_samples: the number of code rows the factors must match, if known.
        what: how the error names this array.

    Returns:
        ``(N, F)`` int64 array when every factor is discrete, else float64.
    """
    factors = np.asarray(factors)
    if factors.ndim == 1:
        raise UsageError(f"{what} are 1-D (shape {factors.shape}); pass N samples x F factors (reshape(-1, 1) for one factor).")
    if factors.ndim != 2:
        raise UsageError(f"{what} must be 2-D (N samples x F factors), got shape {factors.shape}.")
    if num_samples is not None and len(factors) != num_samples:
        raise UsageError(
            f"{what} have {len(factors)} rows but the codes have {num_samples}; pass one factor row per code row."
        )
    if not (np.issubdtype(factors.dtype, np.number) or factors.dtype == bool):
        raise UsageError(f"{what} must be numeric, got dtype {factors.dtype}.")
    _refuse_complex(factors, what)
    if factors.shape[1] != len(factor_info):
        raise UsageError(
            f"{what} have {factors.shape[1]} columns but {len(factor_info)} factors are described; they must match."
        )
    if len(factors) < 2:
        raise UsageError(f"{what} hold {len(factors)} sample; metrics need at least 2.")
    all_discrete = all(not f.continuous for f in factor_info)
    for column, info in enumerate(factor_info):
        values = factors[:, column]
        if np.issubdtype(values.dtype, np.floating):
            if not np.isfinite(values).all():
                raise UsageError(f"factor {info.name!r} holds NaN or infinite values; remove those rows.")
            if not info.continuous:
                if np.abs(values).max() >= _INT64_LIMIT:
                    raise UsageError(
                        f"factor {info.name!r} holds values beyond the int64 range; pass factor indices 0..K-1."
                    )
                if not np.array_equal(values, np.round(values)):
                    raise UsageError(
                        f"discrete factor {info.name!r} holds non-integer values; pass factor indices "
                        "or describe it as continuous (num_values=None)."
                    )
        elif values.dtype == np.uint64 and values.max() > np.iinfo(np.int64).max:
            raise UsageError(f"factor {info.name!r} holds values beyond the int64 range; pass factor indices 0..K-1.")
        distinct = label_indices(values)[1] if np.issubdtype(values.dtype, np.integer) else len(np.unique(values))
        if distinct < 2:
            raise UsageError(
                f"factor {info.name!r} is constant (one value in {len(values)} samples); no metric can score it, drop that column."
            )
        if not info.continuous and distinct == len(values):
            raise UsageError(
                f"discrete factor {info.name!r} has one sample per value ({distinct} values in {len(values)} samples); "
                "pass more samples, or describe it as continuous (num_values=None)."
            )
    if all_discrete:
        return factors.astype(np.int64)
    return factors.astype(np.float64)


def check_metric_input(data: MetricInput, min_samples: int = 2) -> MetricInput:
    """Validated copy of ``data``: finite 2-D codes, factors that match them, both splits checked."""
    codes = check_codes(data.codes)
    factors = check_factors(data.factors, data.factor_info, len(codes))
    if len(codes) < min_samples:
        raise UsageError(f"codes hold {len(codes)} samples; this metric needs at least {min_samples}.")
    if codes.shape[1] > len(codes):
        raise UsageError(
            f"codes have more dimensions ({codes.shape[1]}) than samples ({len(codes)}); "
            "pass more samples (the protocol uses 10,000) or check that the array is not transposed."
        )
    test_codes = test_factors = None
    if (data.test_codes is None) != (data.test_factors is None):
        raise UsageError("pass both test codes and test factors, or neither.")
    if data.test_codes is not None:
        test_codes = check_codes(data.test_codes, "test codes")
        if test_codes.shape[1] != codes.shape[1]:
            raise UsageError(
                f"test codes have {test_codes.shape[1]} dimensions but train codes have {codes.shape[1]}; they must match."
            )
        test_factors = np.asarray(data.test_factors)
        if not (np.issubdtype(test_factors.dtype, np.number) or test_factors.dtype == bool):
            raise UsageError(f"test factors must be numeric, got dtype {test_factors.dtype}.")
        _refuse_complex(test_factors, "test factors")
        if test_factors.ndim != 2 or len(test_factors) != len(test_codes) or test_factors.shape[1] != factors.shape[1]:
            raise UsageError(
                f"test factors of shape {test_factors.shape} do not match test codes of shape {test_codes.shape} "
                f"and {factors.shape[1]} factors; pass one factor row per test code row."
            )
        if not np.isfinite(test_factors.astype(np.float64)).all():
            raise UsageError("test factors hold NaN or infinite values; remove those rows.")
        test_factors = test_factors.astype(factors.dtype)
    return MetricInput(codes, factors, list(data.factor_info), test_codes, test_factors, data.draw, data.device)
