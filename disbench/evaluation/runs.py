"""Score trained runs: every checkpoint a run kept, then its final one, then the run-group metrics.

Evaluation follows disentanglement_lib's protocol: ``n_eval`` points (10,000)
drawn i.i.d. over the factor distribution with ``eval_seed`` (0), plus ``n_test``
(5,000; half of ``n_eval`` unless given) more for metrics that fit a predictor.
Each space of the representation is scored on its own, and the concatenation of
all spaces as ``joint``.

Points are rendered and encoded by :func:`disbench.methods.representation.encode_factors`,
metrics run in :mod:`disbench.evaluation.scoring`, a metric already in results.json is
reused through :mod:`disbench.evaluation.results_cache`, rows are written by
:mod:`disbench.store`, and a run's figures are drawn by :mod:`disbench.figures`. Scoring at
another protocol adds a results.json entry and never replaces the other protocol's.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from disbench.errors import DisbenchError
from disbench.evaluation.groups import configuration_groups, evaluate_run_groups
from disbench.evaluation.request import (
    GROUP_METRIC_ALONE,
    EvalOutcome,
    EvalRequest,
    EvalSettings,
    RunFailed,
    split_group_metrics,
)
from disbench.evaluation.results_cache import loaded_source, reuse_entries, run_provenance
from disbench.evaluation.scoring import EvalPoints, options_json, score_points
from disbench.methods import representation
from disbench.store import (
    RunSpec,
    check_leaderboard_writable,
    find_entry,
    kept_steps,
    put_entry,
    read_leaderboard,
    read_results,
    read_run_config,
    read_status,
    write_results,
    write_rows,
)


def evaluate_runs(run_dirs: Iterable[str | Path], request: EvalRequest) -> list[EvalOutcome]:
    """Score each run in turn, then the metrics that score the seeds of a configuration together.

    Names, options and the leaderboard are checked before the first run. When a run fails,
    the error names it and what the earlier runs wrote (a :class:`RunFailed` with the
    original exit code); with ``request.keep_going`` the other runs are scored and the
    failed run's outcome carries ``error``. Run-group metrics (e.g. UDR)
    are scored last, per group of the given runs that differ in seed only
    (:func:`evaluate_run_groups`).
    """
    run_dirs = [Path(r) for r in run_dirs]
    options, skipped = request.resolve(codes_only=False)
    per_run, per_group = split_group_metrics(options)
    read_leaderboard(request.leaderboard)  # a leaderboard that cannot be written to fails before any work
    check_leaderboard_writable(request.leaderboard)
    outcomes: list[EvalOutcome] = []
    for position, run_dir in enumerate(run_dirs, start=1):
        try:
            outcomes.append(_evaluate_checkpoints(run_dir, request, per_run, skipped))
        except DisbenchError as exc:
            if request.keep_going:
                outcomes.append(EvalOutcome(run_dir.name, error=str(exc), exit_code=exc.exit_code))
                continue
            if len(run_dirs) == 1:
                raise
            written = sum(o.added for o in outcomes)
            raise RunFailed(
                f"run {run_dir.name!r} ({position} of {len(run_dirs)}) failed: {exc} "
                f"Before it, {written} rows from {len(outcomes)} runs were written to {str(request.leaderboard)!r}; "
                "--keep-going scores the other runs.",
                exc.exit_code,
            ) from None
    if per_group:
        scored = [(run_dir, outcome) for run_dir, outcome in zip(run_dirs, outcomes) if outcome.error is None]
        for group in configuration_groups([run_dir for run_dir, _ in scored]):
            members = [(run_dir, outcome) for run_dir, outcome in scored if run_dir in group]
            try:
                evaluate_run_groups(members, request, per_group)
            except DisbenchError as exc:
                what = f"{', '.join(per_group)} of the runs {', '.join(run_dir.name for run_dir in group)}"
                if request.keep_going:
                    for _, outcome in members:
                        outcome.error, outcome.exit_code = f"{what} failed: {exc}", exc.exit_code
                    continue
                written = sum(o.added for o in outcomes)
                raise RunFailed(
                    f"{what} failed: {exc} Before it, {written} rows from {len(outcomes)} runs were written to "
                    f"{str(request.leaderboard)!r}; --keep-going scores the others.",
                    exc.exit_code,
                ) from None
    return outcomes


def evaluate_run(run_dir: str | Path, request: EvalRequest) -> EvalOutcome:
    """Score one finished run: every checkpoint it kept (``save_at``), then its final one.

    Metrics already in a checkpoint's results (results.json, or
    ``checkpoints/step_N.results.json`` for a kept one) with the same protocol and options
    are not computed again (unless ``request.overwrite``); their rows are written to the
    leaderboard if it lacks them. Computed rows replace the leaderboard's earlier rows of
    the same run, space, metric, factor, options, steps and protocol (rows of another
    protocol stay, and so do its results.json entries); each row's ``steps`` is its
    checkpoint's step. Metrics scored across the seeds of a configuration (run-group metrics,
    e.g. UDR) are left to :func:`evaluate_runs` and listed as skipped here.
    """
    options, skipped = request.resolve(codes_only=False)
    per_run, per_group = split_group_metrics(options)
    outcome = _evaluate_checkpoints(Path(run_dir), request, per_run, skipped)
    outcome.skipped += [(name, GROUP_METRIC_ALONE) for name in per_group]
    return outcome


def _evaluate_checkpoints(
    run_dir: Path, request: EvalRequest, options: dict[str, Any], skipped: list[tuple[str, str]]
) -> EvalOutcome:
    from disbench.training.collapse import summarise

    started = time.perf_counter()
    config = read_run_config(run_dir)
    spec = RunSpec.from_dict(config)
    outcome = EvalOutcome(run_id=config["run_id"], skipped=list(skipped))
    collapse = read_status(run_dir).get("collapse") or []
    if collapse:
        outcome.notes.append(f"trained {summarise(collapse, spec.steps)}: its scores say little about the method")
    for step in [s for s in kept_steps(run_dir) if s < spec.steps] + [None]:
        _evaluate_checkpoint(run_dir, config, spec, step, request, options, outcome, collapse)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _evaluate_checkpoint(
    run_dir: Path,
    config: dict[str, Any],
    spec: Any,
    step: int | None,
    request: EvalRequest,
    options: dict[str, Any],
    outcome: EvalOutcome,
    collapse: list[dict[str, int]] = (),
) -> None:
    """Score one checkpoint of a run (``step``: a kept one; None: the final one) into ``outcome``.

    ``collapse``: the run's collapse stretches (status.json), kept beside each score in results.json.
    """
    settings = request.settings
    results = read_results(run_dir, step)
    protocol = asdict(settings)
    done = {} if request.overwrite else {
        name: entry
        for name, metric_options in options.items()
        if (entry := find_entry(results, name, protocol, options_json(metric_options))) is not None
    }
    todo = {name: metric_options for name, metric_options in options.items() if name not in done}
    at = "" if step is None else f" at step {step}"

    if todo:
        points, data_source, method = _encode_run(run_dir, settings, request.device, step)
        provenance = run_provenance(run_dir, config, spec, settings, data_source, step)
        description = spec.run_id + at
        scored = score_points(points, todo, provenance, settings.eval_seed, request.progress, description)
        outcome.skipped += scored.skipped
        for name, per_space in scored.details.items():
            entry = {"protocol": protocol, "spaces": per_space}
            if collapse:
                entry["training_collapse"] = list(collapse)
            put_entry(results, name, entry)
        # results first: if the leaderboard write fails, the next eval fills it from here
        write_results(run_dir, results, step)
        if step is None:
            _write_figures(run_dir, method, points, scored.details.get("r2"), settings)
        summary = write_rows(request.leaderboard, scored.rows, mode="replace", run_dir=run_dir)
        outcome.rows += scored.rows
        outcome.added += summary.added
        outcome.replaced += summary.replaced
        outcome.computed += [name for name in scored.details if name not in outcome.computed]
    if done:
        provenance = run_provenance(run_dir, config, spec, settings, loaded_source(spec), step)
        reuse_entries(outcome, done, provenance, request.leaderboard, run_dir, at)


def _encode_run(run_dir: Path, settings: EvalSettings, device: str, step: int | None = None) -> tuple[EvalPoints, str, Any]:
    """The run's evaluation points encoded by the checkpoint of ``step`` (None: the final one),
    its dataset's data source, and the loaded method."""
    from disbench.evaluation.encoding import method_encoder
    from disbench.provenance import resolve_device
    from disbench.training.runs import load_run

    device = resolve_device(device)
    _, dataset, method = load_run(run_dir, device, step)
    encode = method_encoder(method)
    check_points_memory(run_dir.name, settings, dataset, encode)
    point_rng = np.random.default_rng(settings.eval_seed)
    render_rng = np.random.default_rng([settings.eval_seed, 1])
    train_factors = dataset.evaluation_factors(settings.n_eval, point_rng)
    test_factors = dataset.evaluation_factors(settings.n_test, point_rng)
    train = representation.encode_factors(encode, dataset, train_factors, render_rng, settings.batch_size)
    test = representation.encode_factors(encode, dataset, test_factors, render_rng, settings.batch_size)
    points = EvalPoints(
        spaces=train.evaluation_spaces(),
        factors=train_factors,
        factor_info=dataset.factors,
        test_spaces=test.evaluation_spaces(),
        test_factors=test_factors,
        encode=encode,
        dataset=dataset,
        chunk_rows=settings.batch_size,
        device=device,
    )
    return points, dataset.data_source, method


#: copies of the evaluation arrays alive at once: the encoded chunks and their concatenation,
#: the joint space beside the spaces, a metric's working copy
EVAL_ARRAY_COPIES = 3


def check_points_memory(run_name: str, settings: EvalSettings, dataset: Any, encode: Any) -> None:
    """Refuse an evaluation budget whose factors and codes would not fit in memory, before any
    point is drawn (the width of the codes is read from one encoded point)."""
    from disbench.provenance import require_memory

    probe_rng = np.random.default_rng(0)
    factors = dataset.sample_factors(1, probe_rng)
    probe = encode(dataset.observations_from_factors(factors, probe_rng), factors).evaluation_spaces()
    width = sum(codes.shape[1] for codes in probe.values())
    points = settings.n_eval + int(settings.n_test)
    needed = points * 8 * (len(dataset.factors) + width) * EVAL_ARRAY_COPIES
    require_memory(
        needed, f"--n-eval {settings.n_eval:,} (+ {int(settings.n_test):,} held out) for run {run_name!r}", "lower --n-eval"
    )


def _write_figures(run_dir: Path, method: Any, points: EvalPoints, r2_spaces: dict[str, Any] | None, settings: EvalSettings) -> None:
    """A scored run's figures beside its results.json: R^2 matrices and heatmaps, a VAE's traversals."""
    from disbench.figures.heatmap import write_r2_figures
    from disbench.figures.traversals import write_vae_figures_of_run

    if r2_spaces is not None:
        write_r2_figures(run_dir, {"protocol": asdict(settings), "spaces": r2_spaces})
    write_vae_figures_of_run(method, points.dataset, points.factors, run_dir, settings.eval_seed)
