"""`disbench bench`: train, evaluate and report a whole suite."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import RichProgress, handle_errors, info, stdout
from disbench.errors import UsageError


@handle_errors
def bench(
    suite: Annotated[str, typer.Option("--suite", "-s", help="Suite name (`disbench list suites`) or YAML file.", rich_help_panel=opt.RUN_PANEL)] = "quick",
    device: opt.Device = "auto",
    runs_dir: opt.RunsDir = opt.DEFAULT_RUNS_DIR,
    leaderboard: opt.Leaderboard = opt.DEFAULT_LEADERBOARD,
    overwrite: opt.Overwrite = False,
    quiet: opt.Quiet = False,
    fmt: opt.Format = "table",
    out: opt.Out = None,
    list_runs: Annotated[bool, typer.Option("--list", help="List the suite's runs with their indices and stop.", rich_help_panel=opt.RUN_PANEL)] = False,
    index: Annotated[Optional[int], typer.Option("--index", help="Run only the run with this index (array jobs).", rich_help_panel=opt.RUN_PANEL)] = None,
) -> None:
    """Run a suite: train every (method, dataset, seed), score it, print the report."""
    from disbench.bench import load_suite
    from disbench.cli.report import emit
    from disbench.evaluation import evaluate_run
    from disbench.report import build_report
    from disbench.runs import resolve_run_spec, train

    opt.check_format(fmt)
    loaded = load_suite(suite)
    specs = [resolve_run_spec(r.method, r.dataset, r.seed, r.steps, r.overrides) for r in loaded.runs]
    if list_runs:
        for i, spec in enumerate(specs):
            stdout.print(f"{i}\t{spec.run_id}", highlight=False)
        return
    if index is not None:
        if not 0 <= index < len(specs):
            raise UsageError(f"--index must be between 0 and {len(specs) - 1} for suite {loaded.name!r}.")
        specs = [specs[index]]
    with RichProgress(quiet=quiet) as progress:
        suite_task = progress.task(f"suite {loaded.name}", total=len(specs))
        for spec in specs:
            result = train(spec, runs_dir, device, overwrite, progress)
            outcome = evaluate_run(
                result.run_dir, loaded.metrics, None, leaderboard, loaded.eval_settings, device, overwrite, progress
            )
            progress.message(f"{spec.run_id}: {result.status}, {len(outcome.rows)} rows")
            suite_task.advance(1)
        suite_task.close()
    table = build_report(leaderboard, run_ids=[s.run_id for s in specs])
    emit(table, fmt, out)
    if not quiet:
        info(f"leaderboard: {leaderboard}")
