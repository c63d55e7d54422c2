"""Score a user's codes against their factors: ``disbench eval --codes`` and :func:`disbench.score`.

:func:`score_codes` is the one path both take (the CLI adds the provenance columns with
:func:`evaluate_codes` and writes the rows to a leaderboard): names and options resolve in
:mod:`disbench.metrics.selection`, the arrays are read by
:func:`disbench.metrics.codes_input.codes_metric_input`, and the metrics run in
:func:`disbench.evaluation.scoring.score_points`.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from disbench.datasets.base import Factor
from disbench.errors import UsageError
from disbench.evaluation.request import EvalOutcome, EvalRequest
from disbench.evaluation.scoring import EvalPoints, score_points
from disbench.metrics.codes_input import as_array, codes_metric_input, factor_info_for
from disbench.metrics.selection import resolve_metric_names, resolve_metric_options
from disbench.store import check_leaderboard_writable, hyperparameters_json, provenance_row, read_leaderboard, write_rows

#: the space name of a codes array (a trained run names its spaces after its method's)
CODES_SPACE = "latent"


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
    if isinstance(metrics, str):
        metrics = [metrics]
    names, skipped = resolve_metric_names(list(metrics), codes_only=True)
    options = resolve_metric_options(names, dict(overrides or {}))
    data = codes_metric_input(codes, factors, factor_info, test)
    test_spaces = None if data.test_codes is None else {CODES_SPACE: data.test_codes}
    points = EvalPoints({CODES_SPACE: data.codes}, data.factors, data.factor_info, test_spaces, data.test_factors)
    scored = score_points(points, options, dict(provenance or {}), seed, progress, description)
    return ScoredCodes(scored.rows, scored.details, skipped + scored.skipped)


@dataclass
class CodesInput:
    """A user's codes with their factors (``disbench eval --codes``).

    Attributes:
        codes: ``(N, d)`` codes; factors: ``(N, F)`` their factor values.
        name: the name its rows carry (method and label); see :func:`check_codes_name`.
        dataset: a registered dataset whose factor names and kinds describe ``factors``; None:
            integer-valued columns are discrete factors, the rest continuous.
        test_codes, test_factors: a held-out split (both or neither) for the metrics that fit a
            predictor (disentanglement_lib's protocol); None: each metric splits 2/3 : 1/3.
    """

    codes: np.ndarray
    factors: np.ndarray
    name: str
    dataset: str | None = None
    test_codes: np.ndarray | None = None
    test_factors: np.ndarray | None = None


def check_codes_name(name: str) -> str:
    """``name`` if it can name a codes file's rows, else a UsageError saying why.

    Refused: empty names, names with a line break, and the names of registered methods
    (``oracle``, ``random``, ``pca``, ...), which would merge the user's codes with that
    method's runs in a report. The names are read from the method presets (every method
    has one, tested), not from the registry, whose import loads torch: scoring a codes
    file needs neither.
    """
    from disbench.presets import method_names

    if not name.strip():
        raise UsageError("--name is empty; give the codes a name (e.g. --name my-encoder).")
    if "\n" in name or "\r" in name:
        raise UsageError("--name holds a line break; give a one-line name (e.g. --name my-encoder).")
    if name in method_names():
        raise UsageError(
            f"--name {name!r} is a disbench method; name your codes something else (e.g. --name my-{name})."
        )
    return name


def default_codes_name(path: str | Path, key: str | None = None) -> str:
    """The name of a codes file's rows when no ``--name`` is given: its stem, and its key if any."""
    stem = Path(path).stem
    return f"{stem}:{key}" if key else stem


def evaluate_codes(codes_input: CodesInput, request: EvalRequest) -> EvalOutcome:
    """Score codes against factors; rows go to ``request.leaderboard`` (replacing an earlier score).

    Raises:
        UsageError: a bad name, metric, option or array (shapes, NaN, complex values, ...).
    """
    from disbench import __version__

    started = time.perf_counter()
    name = check_codes_name(codes_input.name)
    request.resolve(codes_only=True)  # a bad name or option fails before the arrays are read
    if (codes_input.test_codes is None) != (codes_input.test_factors is None):
        raise UsageError("--test-codes and --test-factors go together: pass both files, or neither.")
    factors = as_array(codes_input.factors, "factors")
    factor_info = factor_info_for(factors, codes_input.dataset)
    read_leaderboard(request.leaderboard)  # refuse a leaderboard we could not write, before any work
    check_leaderboard_writable(request.leaderboard)
    provenance = provenance_row(
        run_id=f"codes:{name}",
        config_hash="",
        method=name,
        dataset=codes_input.dataset or "codes",
        data_source="codes file",
        seed=request.settings.eval_seed,
        steps=0,
        n_eval=len(codes_input.codes),
        n_test=None if codes_input.test_factors is None else len(codes_input.test_factors),
        eval_seed=request.settings.eval_seed,
        versions={"disbench": __version__, "python": platform.python_version()},
        device="cpu",
        train_seconds=0.0,
        label=name,
        hyperparameters=hyperparameters_json(None),
    )
    test = None if codes_input.test_codes is None else (codes_input.test_codes, codes_input.test_factors)
    scored = score_codes(
        codes_input.codes, factors, request.metrics, factor_info, test, request.overrides,
        request.settings.eval_seed, provenance, request.progress, name,
    )
    summary = write_rows(request.leaderboard, scored.rows, mode="replace")
    return EvalOutcome(
        run_id=provenance["run_id"],
        rows=scored.rows,
        added=summary.added,
        computed=list(scored.details),
        replaced=summary.replaced,
        skipped=scored.skipped,
        seconds=time.perf_counter() - started,
    )
