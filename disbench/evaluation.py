"""Score representations with registered metrics and append the rows to the leaderboard.

Evaluation follows disentanglement_lib's protocol: ``n_eval`` points (10,000)
drawn i.i.d. over the factor distribution with ``eval_seed`` (0), plus ``n_test``
(5,000) more for metrics that fit a predictor. Each space of the representation is
scored on its own, and the concatenation of all spaces as ``joint``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from disbench.config import build_config, config_to_dict
from disbench.datasets.base import Factor
from disbench.errors import DisbenchError, UsageError
from disbench.progress import NullProgress, Progress
from disbench.representation import Representation
from disbench.store import append_rows, read_results, timestamp, write_results


@dataclass
class EvalSettings:
    n_eval: int = 10_000
    n_test: int = 5_000
    eval_seed: int = 0
    #: observations rendered and encoded at once (bounds memory for image datasets)
    batch_size: int = 1_000

    def __post_init__(self) -> None:
        if self.n_eval < 2:
            raise UsageError(f"--n-eval must be at least 2, got {self.n_eval}.")
        if self.n_test < 0:
            raise UsageError(f"--n-test must be >= 0, got {self.n_test}.")


@dataclass
class EvalOutcome:
    run_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: (metric, reason) for metrics that were not computed
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def _metrics():
    import disbench.metrics  # noqa: F401  (registers every metric)
    from disbench.metrics.base import METRICS

    return METRICS


def resolve_metric_names(names: list[str], codes_only: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand ``all`` and validate names; returns (names, skipped-with-reason)."""
    registry = _metrics()
    if not names:
        raise UsageError("name at least one --metric (or --metric all); `disbench list metrics` shows them.")
    skipped: list[tuple[str, str]] = []
    if "all" in names:
        resolved = list(registry)
    else:
        resolved = []
        for name in names:
            registry.get(name)  # raises with close matches
            if name not in resolved:
                resolved.append(name)
    if codes_only:
        for name in list(resolved):
            if registry.get(name).needs != "codes":
                if "all" not in names:
                    raise UsageError(
                        f"metric {name!r} needs the trained encoder and its dataset, not just codes; "
                        "score a trained run instead of --codes."
                    )
                resolved.remove(name)
                skipped.append((name, "needs the encoder and dataset"))
    return resolved, skipped


def resolve_metric_options(names: list[str], overrides: dict[str, Any]) -> dict[str, Any]:
    """``{"dci.estimator": "lasso"}`` -> ``{"dci": DCIOptions(estimator="lasso"), ...}`` for every name."""
    registry = _metrics()
    per_metric: dict[str, dict[str, Any]] = {name: {} for name in names}
    for key, value in overrides.items():
        metric, dot, option = key.partition(".")
        if not dot:
            raise UsageError(f"eval --set keys take the form METRIC.OPTION (e.g. mig.num_bins=20), got {key!r}.")
        if metric not in per_metric:
            registry.get(metric)  # unknown metric: close matches
            raise UsageError(f"--set {key}: metric {metric!r} is not being computed; add --metric {metric}.")
        per_metric[metric][option] = value
    return {
        name: build_config(registry.get(name).Options, values, f"metric {name!r}")
        for name, values in per_metric.items()
    }


def infer_factor_info(factors: np.ndarray, names: list[str] | None = None) -> list[Factor]:
    """Factors of a bare array: integer-valued columns are discrete, others continuous."""
    info = []
    for j in range(factors.shape[1]):
        column = factors[:, j]
        discrete = bool(np.all(np.isfinite(column)) and np.all(column == np.round(column)))
        name = names[j] if names else f"factor[{j}]"
        info.append(Factor(name, "content", int(len(np.unique(column))) if discrete else None))
    return info


def _score_rows(
    metric_name: str,
    info: Any,
    options: Any,
    space: str,
    result: Any,
    base_row: dict[str, Any],
    seconds: float,
) -> list[dict[str, Any]]:
    options_json = json.dumps(config_to_dict(options), sort_keys=True)
    return [
        {
            **base_row,
            "space": space,
            "metric": score.metric,
            "factor": score.factor,
            "value": float(score.value),
            "higher_is_better": info.higher_is_better if score.higher_is_better is None else score.higher_is_better,
            "metric_options": options_json,
            "eval_seconds": round(seconds, 4),
            "timestamp": timestamp(),
        }
        for score in result.scores
    ]


def score_spaces(
    spaces: dict[str, np.ndarray],
    metric_names: list[str],
    options: dict[str, Any],
    factor_info: list[Factor],
    factors: np.ndarray,
    base_row: dict[str, Any],
    eval_seed: int,
    test: tuple[dict[str, np.ndarray], np.ndarray] | None = None,
    encode: Callable[[np.ndarray, np.ndarray | None], Representation] | None = None,
    dataset: Any = None,
    progress: Progress | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any], list[tuple[str, str]]]:
    """Every metric on every space. Returns (leaderboard rows, results.json entries, skipped)."""
    from disbench.metrics.base import MetricInput, MetricNotApplicable, check_codes

    registry = _metrics()
    spaces = {space: check_codes(codes, f"codes of space {space!r}") for space, codes in spaces.items()}
    progress = progress or NullProgress()
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    skipped: list[tuple[str, str]] = []
    task = progress.task("evaluate", total=len(spaces) * len(metric_names))
    for metric_name in metric_names:
        info = registry.get(metric_name)
        for space, codes in spaces.items():
            rng = np.random.default_rng(eval_seed)
            started = time.perf_counter()
            try:
                if info.needs == "codes":
                    data = MetricInput(
                        codes=codes,
                        factors=factors,
                        factor_info=factor_info,
                        test_codes=None if test is None else test[0][space],
                        test_factors=None if test is None else test[1],
                        draw=None if encode is None else fresh_codes(encode, dataset, space),
                    )
                    result = info.compute(data, options[metric_name], rng)
                else:
                    result = info.compute(encode, space, dataset, options[metric_name], rng)
            except MetricNotApplicable as exc:
                skipped.append((metric_name, f"{space}: {exc}"))
                task.advance(1)
                continue
            seconds = time.perf_counter() - started
            rows += _score_rows(metric_name, info, options[metric_name], space, result, base_row, seconds)
            details.setdefault(metric_name, {})[space] = {
                "options": config_to_dict(options[metric_name]),
                "scores": [asdict(s) for s in result.scores],
                "details": result.details,
                "seconds": seconds,
            }
            task.advance(1)
    task.close()
    return rows, details, skipped


def fresh_codes(encode: Callable, dataset: Any, space: str, chunk: int = 4096) -> Callable:
    """``draw(n, rng) -> (codes of space, factors)``: n new points rendered and encoded in chunks."""
    from disbench.metrics.base import space_codes

    def draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        factors = dataset.sample_factors(n, rng)
        codes = [
            space_codes(encode(dataset.observations_from_factors(factors[i : i + chunk], rng), factors[i : i + chunk]), space)
            for i in range(0, n, chunk)
        ]
        return np.concatenate(codes).astype(np.float64), factors

    return draw


def encode_points(
    method: Any, dataset: Any, factors: np.ndarray, rng: np.random.Generator, batch_size: int
) -> Representation:
    """Render and encode ``factors`` batch by batch, so images never sit in memory all at once."""
    parts = []
    for start in range(0, len(factors), batch_size):
        chunk = factors[start : start + batch_size]
        observations = dataset.observations_from_factors(chunk, rng)
        parts.append(method.encode(observations, chunk if method.reads_factors else None))
    return Representation.concatenate(parts)


def evaluate_run(
    run_dir: str | Path,
    metric_names: list[str],
    metric_overrides: dict[str, Any] | None = None,
    leaderboard: str | Path = "results/leaderboard.csv",
    settings: EvalSettings | None = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: Progress | None = None,
) -> EvalOutcome:
    """Score one finished run; metrics already in its results.json with the same options are skipped."""
    from disbench.provenance import resolve_device
    from disbench.runs import load_run
    from disbench.store import read_run_config, read_status

    settings = settings or EvalSettings()
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    names, skipped = resolve_metric_names(metric_names, codes_only=False)
    options = resolve_metric_options(names, metric_overrides or {})
    results = read_results(run_dir)
    protocol = asdict(settings)
    if not overwrite:
        done = [
            n
            for n in names
            if n in results
            and results[n].get("protocol") == protocol
            and all(entry.get("options") == config_to_dict(options[n]) for entry in results[n]["spaces"].values())
        ]
        skipped += [(n, "already scored (use --overwrite to score again)") for n in done]
        names = [n for n in names if n not in done]
    outcome = EvalOutcome(run_id=config["run_id"], skipped=skipped)
    if not names:
        return outcome

    started = time.perf_counter()
    spec, dataset, method = load_run(run_dir, resolve_device(device))
    point_rng = np.random.default_rng(settings.eval_seed)
    render_rng = np.random.default_rng([settings.eval_seed, 1])
    train_factors = dataset.sample_factors(settings.n_eval, point_rng)
    test_factors = dataset.sample_factors(settings.n_test, point_rng) if settings.n_test else None
    representation = encode_points(method, dataset, train_factors, render_rng, settings.batch_size)
    spaces = representation.evaluation_spaces()
    test = None
    if test_factors is not None:
        test_rep = encode_points(method, dataset, test_factors, render_rng, settings.batch_size)
        test = (test_rep.evaluation_spaces(), test_factors)

    def encode(observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        return method.encode(observations, factors if method.reads_factors else None)

    encode.fitted_sample = method.fitted_sample  # transductive methods are scored on their fitted points

    status = read_status(run_dir)
    base_row = {
        "run_id": config["run_id"],
        "config_hash": config["config_hash"],
        "method": spec.method,
        "dataset": spec.dataset,
        "data_source": dataset.data_source,
        "seed": spec.seed,
        "n_eval": settings.n_eval,
        "eval_seed": settings.eval_seed,
        "steps": spec.steps,
        "disbench_version": config["versions"]["disbench"],
        "torch_version": config["versions"]["torch"],
        "python_version": config["versions"]["python"],
        "device": config["device"],
        "train_seconds": round(float(status.get("train_seconds", 0.0)), 3),
    }
    rows, details, more_skipped = score_spaces(
        spaces, names, options, dataset.factors, train_factors, base_row, settings.eval_seed,
        test=test, encode=encode, dataset=dataset, progress=progress,
    )
    outcome.skipped += more_skipped
    append_rows(leaderboard, rows)
    for name, per_space in details.items():
        results[name] = {"protocol": protocol, "spaces": per_space}
    write_results(run_dir, results)
    after_scoring(run_dir, results)
    outcome.rows = rows
    outcome.seconds = time.perf_counter() - started
    return outcome


def after_scoring(run_dir: Path, results: dict[str, Any]) -> None:
    """Tables and pictures that follow from the results (R^2 matrices and heatmaps), beside results.json."""
    from disbench.metrics.heatmap import write_run_heatmaps

    write_run_heatmaps(run_dir, results)


def evaluate_pending(
    runs_dir: str | Path,
    metric_names: list[str],
    metric_overrides: dict[str, Any] | None = None,
    leaderboard: str | Path = "results/leaderboard.csv",
    settings: EvalSettings | None = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: Progress | None = None,
    run_ids: list[str] | None = None,
) -> list[EvalOutcome]:
    """Score every finished run under ``runs_dir`` (or those in ``run_ids``) that lacks a metric."""
    from disbench.store import finished_runs

    resolve_metric_options(resolve_metric_names(metric_names, codes_only=False)[0], metric_overrides or {})
    outcomes = []
    for run_dir in finished_runs(runs_dir):
        if run_ids is not None and run_dir.name not in run_ids:
            continue
        outcomes.append(
            evaluate_run(run_dir, metric_names, metric_overrides, leaderboard, settings, device, overwrite, progress)
        )
    return outcomes


def evaluate_codes(
    codes: np.ndarray,
    factors: np.ndarray,
    name: str,
    metric_names: list[str],
    metric_overrides: dict[str, Any] | None = None,
    leaderboard: str | Path = "results/leaderboard.csv",
    eval_seed: int = 0,
    dataset: str | None = None,
    progress: Progress | None = None,
) -> EvalOutcome:
    """Score a codes array against a factors array (``disbench eval --codes``).

    With ``dataset`` the factor names and kinds come from that dataset; otherwise
    integer-valued columns are discrete factors and the rest continuous.
    """
    from disbench import __version__
    from disbench.metrics.base import check_codes, check_factors

    started = time.perf_counter()
    codes = check_codes(codes)
    names, skipped = resolve_metric_names(metric_names, codes_only=True)
    options = resolve_metric_options(names, metric_overrides or {})
    factors = np.asarray(factors)
    if dataset is not None:
        from disbench.runs import build_dataset

        factor_info = build_dataset(dataset).factors
    else:
        readable = factors.ndim == 2 and np.issubdtype(factors.dtype, np.number)
        factor_info = infer_factor_info(factors) if readable else []
    factors = check_factors(factors, factor_info, len(codes))
    import platform

    base_row = {
        "run_id": f"codes:{name}",
        "config_hash": "",
        "method": name,
        "dataset": dataset or "codes",
        "data_source": "codes file",
        "seed": eval_seed,
        "n_eval": len(codes),
        "eval_seed": eval_seed,
        "steps": 0,
        "disbench_version": __version__,
        "torch_version": "",
        "python_version": platform.python_version(),
        "device": "cpu",
        "train_seconds": 0.0,
    }
    rows, _, more_skipped = score_spaces(
        {"latent": codes}, names, options, factor_info, factors, base_row, eval_seed, progress=progress
    )
    append_rows(leaderboard, rows)
    return EvalOutcome(run_id=base_row["run_id"], rows=rows, skipped=skipped + more_skipped, seconds=time.perf_counter() - started)
