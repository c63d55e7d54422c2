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
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Local worker processes sharing the CPU cores.", rich_help_panel=opt.RUN_PANEL)] = 1,
) -> None:
    """Run a suite: train every (method, dataset, seed), score it, print the report."""
    from disbench.bench import load_suite, run_suite
    from disbench.cli.report import emit
    from disbench.report import build_report
    from disbench.runs import resolve_run_spec

    opt.check_format(fmt)
    loaded = load_suite(suite)
    runs = loaded.runs
    specs = [resolve_run_spec(r.method, r.dataset, r.seed, r.steps, r.overrides) for r in runs]
    if list_runs:
        for i, spec in enumerate(specs):
            stdout.print(f"{i}\t{spec.run_id}", highlight=False)
        return
    if index is not None:
        if not 0 <= index < len(specs):
            raise UsageError(f"--index must be between 0 and {len(specs) - 1} for suite {loaded.name!r}.")
        specs, runs = [specs[index]], [runs[index]]
    with RichProgress(quiet=quiet) as progress:
        run_suite(loaded, specs, runs, runs_dir, leaderboard, device, overwrite, jobs, progress)
    table = build_report(leaderboard, run_ids=[s.run_id for s in specs])
    emit(table, fmt, out)
    if not quiet:
        info(f"leaderboard: {leaderboard}")
