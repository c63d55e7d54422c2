"""Score trained runs and codes files, and write the rows to a leaderboard.

Evaluation follows disentanglement_lib's protocol: ``n_eval`` points (10,000)
drawn i.i.d. over the factor distribution with ``eval_seed`` (0), plus ``n_test``
(5,000; half of ``n_eval`` unless given) more for metrics that fit a predictor.
Each space of the representation is scored on its own, and the concatenation of
all spaces as ``joint``.

One :class:`EvalRequest` says what to compute and where to write it. The work is
shared out: metric names and options resolve in :mod:`disbench.metrics.selection`,
points are rendered and encoded by :mod:`disbench.evaluation.encoding`, metrics run in
:mod:`disbench.evaluation.scoring`, rows and their provenance are built and written by
:mod:`disbench.store`, and R^2 heatmaps are drawn by :mod:`disbench.figures.plots`. This
module only puts those together, run by run.

A run's results.json is the record of what was scored, one entry per metric,
protocol and options (:func:`disbench.store.put_entry`): a metric already there
with the same protocol and options is not computed again, but its rows are
written to a leaderboard that lacks them; scoring at another protocol adds an
entry and never replaces the other protocol's.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from disbench.errors import DisbenchError, UsageError
from disbench.config import config_to_dict
from disbench.progress import NullProgress, Progress
from disbench.evaluation.scoring import EvalPoints, options_json, score_points, stored_rows
from disbench.store import (
    check_leaderboard_writable,
    find_entry,
    hyperparameters_json,
    provenance_row,
    put_entry,
    read_leaderboard,
    read_results,
    write_results,
    write_rows,
)

#: the protocol's held-out points at most (disentanglement_lib: 5,000)
PROTOCOL_N_TEST = 5_000

#: reasons a metric is skipped without being a failure
ALREADY_SCORED = "already scored"
GROUP_METRIC_ALONE = "scores the seeds of a configuration together: run `disbench eval` over the runs folder"


@dataclass
class EvalSettings:
    """The evaluation protocol: how many points, which seed, how they are encoded.

    Attributes:
        n_eval: evaluation points drawn per run (dlib: 10,000).
        n_test: held-out points for metrics that fit a predictor (dlib: 5,000); None:
            half of ``n_eval``, at most 5,000.
        eval_seed: seed of the points and the metrics.
        batch_size: observations rendered and encoded at once (bounds memory).
    """

    n_eval: int = 10_000
    n_test: int | None = None
    eval_seed: int = 0
    batch_size: int = 1_000

    def __post_init__(self) -> None:
        if self.n_eval < 2:
            raise UsageError(f"--n-eval must be at least 2, got {self.n_eval}.")
        if self.n_test is None:
            self.n_test = min(PROTOCOL_N_TEST, self.n_eval // 2)
        if self.n_test < 1:
            raise UsageError(
                f"--n-test must be at least 1, got {self.n_test}: the metrics that fit a predictor "
                "(sap, dci, r2, ...) score held-out points; omit --n-test for half of --n-eval."
            )

    def budget(self) -> dict[str, int]:
        """The budget the metrics' ``budget`` options follow (:mod:`disbench.metrics.selection`)."""
        return {"n_eval": self.n_eval, "n_test": int(self.n_test)}


@dataclass
class EvalRequest:
    """What to compute and where to write it; shared by every function of this module.

    Attributes:
        metrics: metric names; ``["all"]`` for every metric that applies.
        overrides: ``{"METRIC.OPTION": value}`` from ``--set``.
        leaderboard: the CSV the rows go to.
        settings: the evaluation protocol.
        device: ``auto``, ``cpu`` or ``cuda`` for encoding.
        overwrite: score again what results.json already holds (its rows are replaced).
        keep_going: when a run fails, score the others and report the failure at the end.
        progress: the CLI's progress hook (none in tests).
    """

    metrics: list[str] = field(default_factory=lambda: ["all"])
    overrides: dict[str, Any] = field(default_factory=dict)
    leaderboard: str | Path = "results/leaderboard.csv"
    settings: EvalSettings = field(default_factory=EvalSettings)
    device: str = "auto"
    overwrite: bool = False
    keep_going: bool = False
    progress: Progress | None = None

    def resolve(self, codes_only: bool) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """``({metric: options}, skipped)``; UsageError for a bad name or option, before any work."""
        from disbench.metrics.selection import resolve_metric_names, resolve_metric_options

        names, skipped = resolve_metric_names(list(self.metrics), codes_only)
        budget = None if codes_only else self.settings.budget()
        return resolve_metric_options(names, dict(self.overrides), budget), skipped


@dataclass
class EvalOutcome:
    """What scoring one run (or codes file) did."""

    run_id: str
    #: this run's rows of the requested metrics (computed now, or taken from results.json)
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: rows added to the leaderboard (a leaderboard that had a row already is not written twice)
    added: int = 0
    #: metrics computed now
    computed: list[str] = field(default_factory=list)
    #: metrics taken from results.json
    reused: list[str] = field(default_factory=list)
    #: earlier leaderboard rows replaced by a rescore
    replaced: int = 0
    #: (metric, reason) for metrics that were not computed
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    #: why this run failed (with ``keep_going``); None when it did not
    error: str | None = None
    exit_code: int = 0
    #: what a reader of the scores should know about the run (e.g. it trained collapsed)
    notes: list[str] = field(default_factory=list)


class RunFailed(DisbenchError):
    """Scoring one run of several failed; the message says which and what was written before."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- trained runs ------------------------------------------------------------------------


def evaluate_runs(run_dirs: Iterable[str | Path], request: EvalRequest) -> list[EvalOutcome]:
    """Score each run in turn, then the metrics that score the seeds of a configuration together.

    Names, options and the leaderboard are checked before the first run. When a run fails,
    the error names it and what the earlier runs wrote (a :class:`RunFailed` with the
    original exit code); with ``request.keep_going`` the other runs are scored and the
    failed run's outcome carries ``error``. Run-group metrics (``needs="runs"``, e.g. UDR)
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


def configuration_groups(run_dirs: Iterable[Path]) -> list[list[Path]]:
    """``run_dirs`` grouped by configuration: same method, dataset and hyperparameters, seeds differing.

    Groups keep the order of their first run; runs within a group are ordered by seed.
    """
    from disbench.store import RunSpec, read_run_config

    groups: dict[tuple[str, str, str], list[tuple[int, Path]]] = {}
    for run_dir in run_dirs:
        spec = RunSpec.from_dict(read_run_config(run_dir))
        key = (spec.method, spec.dataset, hyperparameters_json(spec))
        groups.setdefault(key, []).append((spec.seed, run_dir))
    return [[run_dir for _, run_dir in sorted(members, key=lambda m: m[0])] for members in groups.values()]


def evaluate_run_groups(
    scored: list[tuple[Path, EvalOutcome]], request: EvalRequest, options: dict[str, Any]
) -> None:
    """Score the run-group metrics of ``options`` on each configuration group of ``scored``'s runs.

    Each run gets its own rows (its ``steps`` is its budget: the final checkpoints are
    compared) and results.json entry, recording the group it was scored in; a group scored
    before with the same runs, protocol and options is not computed again. A group of one
    run is skipped with the metric's reason.
    """
    from disbench.metrics.base import MetricNotApplicable, RunMember
    from disbench.metrics.selection import metric_registry
    from disbench.provenance import resolve_device
    from disbench.training.runs import load_run
    from disbench.store import RunSpec, read_run_config

    registry = metric_registry()
    settings = request.settings
    protocol = asdict(settings)
    outcome_of = {run_dir: outcome for run_dir, outcome in scored}
    for group in configuration_groups([run_dir for run_dir, _ in scored]):
        run_ids = [read_run_config(run_dir)["run_id"] for run_dir in group]
        loaded: list[Any] = []
        for name, metric_options in options.items():
            results = [read_results(run_dir) for run_dir in group]
            entries = [find_entry(r, name, protocol, options_json(metric_options)) for r in results]
            reuse = not request.overwrite and all(
                entry is not None
                and all(space.get("details", {}).get("group") == run_ids for space in entry["spaces"].values())
                for entry in entries
            )
            if reuse:
                for run_dir, entry in zip(group, entries):
                    config = read_run_config(run_dir)
                    spec = RunSpec.from_dict(config)
                    provenance = run_provenance(run_dir, config, spec, settings, loaded_source(spec))
                    stored = stored_rows(name, entry, provenance)
                    outcome = outcome_of[run_dir]
                    outcome.added += write_rows(request.leaderboard, stored, mode="missing", run_dir=run_dir).added
                    outcome.rows += stored
                    outcome.reused.append(name)
                    outcome.skipped.append((name, f"{ALREADY_SCORED} (results.json; --overwrite scores it again)"))
                continue
            if not loaded:
                loaded = [load_run(run_dir, resolve_device(request.device)) for run_dir in group]
            members = [RunMember(run_id, method, dataset) for run_id, (_, dataset, method) in zip(run_ids, loaded)]
            task_description = f"{name} of {len(group)} seeds of {loaded[0][0].method}"
            task = (request.progress or NullProgress()).task(task_description, total=1)
            started = time.perf_counter()
            try:
                metric_results = registry.get(name).compute(members, metric_options, np.random.default_rng(settings.eval_seed))
            except MetricNotApplicable as exc:
                for run_dir in group:
                    outcome_of[run_dir].skipped.append((name, str(exc)))
                task.close()
                continue
            seconds = (time.perf_counter() - started) / len(group)
            task.advance(1)
            task.close()
            for run_dir, (spec, dataset, method), metric_result, result in zip(group, loaded, metric_results, results):
                config = read_run_config(run_dir)
                space = _group_space(method, dataset)
                entry = {
                    "protocol": protocol,
                    "spaces": {
                        space: {
                            "options": config_to_dict(metric_options),
                            "scores": [asdict(score) for score in metric_result.scores],
                            "details": metric_result.details,
                            "seconds": seconds,
                        }
                    },
                }
                put_entry(result, name, entry)
                write_results(run_dir, result)
                provenance = run_provenance(run_dir, config, spec, settings, dataset.data_source)
                rows = stored_rows(name, entry, provenance)
                outcome = outcome_of[run_dir]
                summary = write_rows(request.leaderboard, rows, mode="replace", run_dir=run_dir)
                outcome.rows += rows
                outcome.added += summary.added
                outcome.replaced += summary.replaced
                outcome.computed.append(name)


def loaded_source(spec: Any) -> str:
    """The data source of a run's dataset (built, not loaded: no rendering)."""
    from disbench.training.runs import build_dataset

    return build_dataset(spec.dataset, spec.dataset_config).data_source


def _group_space(method: Any, dataset: Any) -> str:
    """The name of the space a run-group metric scores: the run's only space, else ``joint``."""
    observation = dataset.observations_from_factors(dataset.sample_factors(1, np.random.default_rng(0)), np.random.default_rng(0))
    spaces = method.encode(observation, None).spaces
    return next(iter(spaces)) if len(spaces) == 1 else "joint"


def evaluate_run(run_dir: str | Path, request: EvalRequest) -> EvalOutcome:
    """Score one finished run: every checkpoint it kept (``save_at``), then its final one.

    Metrics already in a checkpoint's results (results.json, or
    ``checkpoints/step_N.results.json`` for a kept one) with the same protocol and options
    are not computed again (unless ``request.overwrite``); their rows are written to the
    leaderboard if it lacks them. Computed rows replace the leaderboard's earlier rows of
    the same run, space, metric, factor, options, steps and protocol (rows of another
    protocol stay, and so do its results.json entries); each row's ``steps`` is its
    checkpoint's step. Metrics scored across the seeds of a configuration (``needs="runs"``,
    e.g. UDR) are left to :func:`evaluate_runs` and listed as skipped here.
    """
    options, skipped = request.resolve(codes_only=False)
    per_run, per_group = split_group_metrics(options)
    outcome = _evaluate_checkpoints(Path(run_dir), request, per_run, skipped)
    outcome.skipped += [(name, GROUP_METRIC_ALONE) for name in per_group]
    return outcome


def split_group_metrics(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` split into metrics scored run by run and those scored per configuration group."""
    from disbench.metrics.selection import metric_registry

    registry = metric_registry()
    per_group = {name: o for name, o in options.items() if registry.get(name).needs == "runs"}
    return {name: o for name, o in options.items() if name not in per_group}, per_group


def _evaluate_checkpoints(
    run_dir: Path, request: EvalRequest, options: dict[str, Any], skipped: list[tuple[str, str]]
) -> EvalOutcome:
    from disbench.training.collapse import summarise
    from disbench.store import RunSpec, kept_steps, read_run_config, read_status

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
    from disbench.training.runs import build_dataset

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
            if "r2" in scored.details:
                write_r2_figures(run_dir, {"protocol": protocol, "spaces": scored.details["r2"]})
            write_vae_figures_of_run(method, points, run_dir, settings)
        summary = write_rows(request.leaderboard, scored.rows, mode="replace", run_dir=run_dir)
        outcome.rows += scored.rows
        outcome.added += summary.added
        outcome.replaced += summary.replaced
        outcome.computed += [name for name in scored.details if name not in outcome.computed]
    if done:
        data_source = build_dataset(spec.dataset, spec.dataset_config).data_source
        provenance = run_provenance(run_dir, config, spec, settings, data_source, step)
        stored = [row for name, entry in done.items() for row in stored_rows(name, entry, provenance)]
        outcome.added += write_rows(request.leaderboard, stored, mode="missing", run_dir=run_dir).added
        outcome.rows += stored
        outcome.reused += [name for name in done if name not in outcome.reused]
        outcome.skipped += [(name, f"{ALREADY_SCORED}{at} (results.json; --overwrite scores it again)") for name in done]


def run_provenance(
    run_dir: Path, config: dict[str, Any], spec: Any, settings: EvalSettings, data_source: str, step: int | None = None
) -> dict[str, Any]:
    """The provenance columns of a run's rows; ``steps`` is the scored checkpoint's step."""
    from disbench.store import read_status

    return provenance_row(
        run_id=config["run_id"],
        config_hash=config["config_hash"],
        method=spec.method,
        dataset=spec.dataset,
        data_source=data_source,
        seed=spec.seed,
        steps=spec.steps if step is None else step,
        n_eval=settings.n_eval,
        n_test=settings.n_test,
        eval_seed=settings.eval_seed,
        versions=config.get("versions", {}),
        device=config.get("device", ""),
        train_seconds=float(read_status(run_dir).get("train_seconds", 0.0)),
        label=str(config.get("label") or ""),
        hyperparameters=hyperparameters_json(spec),
        parameters=config.get("num_parameters"),
    )


def _encode_run(run_dir: Path, settings: EvalSettings, device: str, step: int | None = None) -> tuple[EvalPoints, str, Any]:
    """The run's evaluation points encoded by the checkpoint of ``step`` (None: the final one),
    its dataset's data source, and the loaded method."""
    from disbench.evaluation.encoding import encode_factors, method_encoder
    from disbench.provenance import resolve_device
    from disbench.training.runs import load_run

    _, dataset, method = load_run(run_dir, resolve_device(device), step)
    encode = method_encoder(method)
    check_points_memory(run_dir.name, settings, dataset, encode)
    point_rng = np.random.default_rng(settings.eval_seed)
    render_rng = np.random.default_rng([settings.eval_seed, 1])
    train_factors = dataset.evaluation_factors(settings.n_eval, point_rng)
    test_factors = dataset.evaluation_factors(settings.n_test, point_rng)
    train = encode_factors(encode, dataset, train_factors, render_rng, settings.batch_size)
    test = encode_factors(encode, dataset, test_factors, render_rng, settings.batch_size)
    points = EvalPoints(
        spaces=train.evaluation_spaces(),
        factors=train_factors,
        factor_info=dataset.factors,
        test_spaces=test.evaluation_spaces(),
        test_factors=test_factors,
        encode=encode,
        dataset=dataset,
        chunk_rows=settings.batch_size,
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


#: observations a VAE's traversal figures are computed from (latent scales and KLs)
FIGURE_OBSERVATIONS = 1_000


def write_vae_figures_of_run(method: Any, points: EvalPoints, run_dir: Path, settings: EvalSettings) -> list[Path]:
    """``traversals.png`` and ``reconstructions.png`` of a VAE run (nothing for other methods or non-images)."""
    from disbench.figures.traversals import has_decoder, write_vae_figures

    if not has_decoder(method):
        return []
    factors = points.factors[:FIGURE_OBSERVATIONS]
    observations = points.dataset.observations_from_factors(factors, np.random.default_rng([settings.eval_seed, 2]))
    return write_vae_figures(method, np.asarray(observations), run_dir)


def write_r2_figures(run_dir: Path, r2_results: dict[str, Any]) -> list[Path]:
    """The R^2 matrices of a scored run as CSV, and kernel-R^2 heatmaps, beside its results.json."""
    from disbench.store.atomic import atomic_path
    from disbench.metrics.heatmap import r2_matrices
    from disbench.figures.plots import write_r2_heatmap

    written = []
    for name, matrix in r2_matrices(r2_results).items():
        csv_path = run_dir / f"r2_{name}.csv"
        with atomic_path(csv_path) as temporary:
            matrix.to_csv(temporary, index_label="space")
        written.append(csv_path)
        if name.startswith("kernel"):
            what = "factor group" if name.endswith("groups") else "factor"
            title = f"{run_dir.name}\nkernel R$^2$ of each {what} from each space"
            written.append(write_r2_heatmap(matrix, run_dir / f"r2_{name}.png", title))
    return written


def skip_summary(outcomes: list[EvalOutcome]) -> str | None:
    """One line for every metric skipped across ``outcomes``: which, how often, and the first reason."""
    by_metric: dict[str, tuple[int, str]] = {}
    for outcome in outcomes:
        for metric, reason in outcome.skipped:
            count, first = by_metric.get(metric, (0, reason))
            by_metric[metric] = (count + 1, first)
    if not by_metric:
        return None
    parts = []
    for metric, (count, reason) in by_metric.items():
        times = "" if count == 1 else f" {count} times"
        parts.append(f"{metric} skipped{times} ({reason.rstrip('.')})")
    return "; ".join(parts) + "."


# --- codes files -------------------------------------------------------------------------


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
    from disbench.api import as_array, factor_info_for, score_codes

    started = time.perf_counter()
    name = check_codes_name(codes_input.name)
    request.resolve(codes_only=True)  # a bad name or option fails before the arrays are read
    if (codes_input.test_codes is None) != (codes_input.test_factors is None):
        raise UsageError("--test-codes and --test-factors go together: pass both files, or neither.")
    factors = as_array(codes_input.factors, "factors")
    factor_info = factor_info_for(factors, codes_input.dataset)
    read_leaderboard(request.leaderboard)  # refuse a leaderboard we could not write, before any work
    check_leaderboard_writable(request.leaderboard)
    import platform

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

