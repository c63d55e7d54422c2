"""Every requested metric on every space of a set of evaluation points.

:func:`score_points` is shared by trained runs and codes files: it calls each
metric (a :class:`~disbench.metrics.base.CodesMetric` with a
:class:`~disbench.metrics.base.MetricInput`, an :class:`~disbench.metrics.base.EncoderMetric`
with the encoder and dataset), turns the results into
leaderboard rows (:func:`disbench.store.score_rows`) and results.json entries,
and collects the metrics that do not apply. :func:`stored_rows` rebuilds the
rows of scores already in a run's results.json, so that they can be written to
another leaderboard without being computed again.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from disbench.config import config_to_dict
from disbench.datasets.base import Factor
from disbench.evaluation.encoding import fresh_codes
from disbench.methods.representation import Encoder
from disbench.metrics.base import CodesMetric, EncoderMetric, MetricInput, MetricNotApplicable, check_codes
from disbench.metrics.selection import metric_registry
from disbench.progress import NullProgress, Progress
from disbench.store import canonical_json, score_rows


@dataclass
class EvalPoints:
    """What the metrics score.

    Attributes:
        spaces: ``{space: (N, d) codes}``, in scoring order.
        factors: ``(N, F)`` factor values of the points.
        factor_info: one :class:`Factor` per column of ``factors``.
        test_spaces, test_factors: a held-out split (same spaces) for the metrics that fit a
            predictor; None lets each metric split ``spaces`` itself.
        encode, dataset: the trained method and its dataset, for the encoder metrics and for
            codes metrics that draw fresh points (None for codes files).
        chunk_rows: observations rendered and encoded at once when fresh points are drawn.
        device: the torch device the points were encoded on; codes metrics may run their
            heavy linear algebra there (``r2``'s kernel ridge on a GPU).
    """

    spaces: dict[str, np.ndarray]
    factors: np.ndarray
    factor_info: list[Factor]
    test_spaces: dict[str, np.ndarray] | None = None
    test_factors: np.ndarray | None = None
    encode: Encoder | None = None
    dataset: Any = None
    chunk_rows: int = 1_000
    device: str = "cpu"


@dataclass
class Scored:
    """Rows for the leaderboard, entries for results.json, and ``(metric, reason)`` skips."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def options_json(options: Any) -> str:
    """The ``metric_options`` column: canonical JSON of resolved options."""
    return canonical_json(config_to_dict(options))


def score_points(
    points: EvalPoints,
    options: dict[str, Any],
    provenance: dict[str, Any],
    seed: int,
    progress: Progress | None = None,
    description: str = "evaluate",
) -> Scored:
    """Score every metric of ``options`` (name -> resolved options) on every space of ``points``.

    Each (metric, space) gets a fresh ``np.random.default_rng(seed)``, so a score does not
    depend on which other metrics were computed. A metric raising
    :class:`~disbench.metrics.base.MetricNotApplicable` is skipped with its reason. Only codes
    and encoder metrics score points (run-group metrics score runs: :mod:`disbench.evaluation.groups`).
    """
    registry = metric_registry()
    spaces = {space: check_codes(codes, f"codes of space {space!r}") for space, codes in points.spaces.items()}
    progress = progress or NullProgress()
    scored = Scored()
    task = progress.task(description, total=len(spaces) * len(options))
    for metric_name, metric_options in options.items():
        info = registry.get(metric_name)
        for space, codes in spaces.items():
            task.advance(0, metric=f"{metric_name} on {space}")
            rng = np.random.default_rng(seed)
            started = time.perf_counter()
            try:
                if isinstance(info, CodesMetric):
                    data = MetricInput(
                        codes=codes,
                        factors=points.factors,
                        factor_info=points.factor_info,
                        test_codes=None if points.test_spaces is None else points.test_spaces[space],
                        test_factors=points.test_factors,
                        draw=None if points.encode is None else fresh_codes(points.encode, points.dataset, space, points.chunk_rows),
                        device=points.device,
                    )
                    result = info.compute(data, metric_options, rng)
                elif isinstance(info, EncoderMetric):
                    result = info.compute(points.encode, space, points.dataset, metric_options, rng)
                else:
                    raise TypeError(f"metric {metric_name!r} is a {type(info).__name__}: it scores runs, not points")
            except MetricNotApplicable as exc:
                scored.skipped.append((metric_name, str(exc)))
                task.advance(1)
                continue
            seconds = time.perf_counter() - started
            scored.rows += score_rows(
                provenance, space, result.scores, info.higher_is_better, options_json(metric_options), seconds
            )
            scored.details.setdefault(metric_name, {})[space] = {
                "options": config_to_dict(metric_options),
                "scores": [asdict(s) for s in result.scores],
                "details": result.details,
                "seconds": seconds,
            }
            task.advance(1)
    task.close()
    return scored


def stored_rows(metric_name: str, entry: dict[str, Any], provenance: dict[str, Any]) -> list[dict[str, Any]]:
    """Leaderboard rows of one results.json entry (``{"protocol":..., "spaces": {...}}``)."""
    info = metric_registry().get(metric_name)
    rows = []
    for space, per_space in entry["spaces"].items():
        rows += score_rows(
            provenance,
            space,
            per_space["scores"],
            info.higher_is_better,
            canonical_json(per_space["options"]),
            per_space.get("seconds", 0.0),
        )
    return rows
