"""`disbench bench`: train, evaluate and report a whole suite, here or as a Slurm array job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import RichProgress, handle_errors, info, stdout
from disbench.errors import DisbenchError, UsageError
from disbench.store import check_leaderboard_writable

EXECUTORS = ("local", "slurm", "submitit-local")
CLUSTER_PANEL = "Cluster"


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
    list_runs: Annotated[bool, typer.Option("--list", help="List the suite's entries (index, run id, label) and stop.", rich_help_panel=opt.RUN_PANEL)] = False,
    index: Annotated[Optional[list[int]], typer.Option("--index", help="Run only the entry with this index (repeatable).", rich_help_panel=opt.RUN_PANEL)] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Local worker processes sharing the CPU cores (--executor local).", rich_help_panel=opt.RUN_PANEL)] = 1,
    stack: Annotated[Optional[int], typer.Option("--stack", min=1, help="Train up to N entries that differ only in seed and in numbers the method can stack (beta, gamma...) as one stacked model, then score each (default: the suite's `stack:`, else 1).", rich_help_panel=opt.RUN_PANEL)] = None,
    executor: Annotated[str, typer.Option("--executor", "-x", help="local (this process), slurm (one array job through submitit) or submitit-local (the slurm path as subprocesses here).", rich_help_panel=CLUSTER_PANEL)] = "local",
    status: Annotated[bool, typer.Option("--status", help="Show each entry's state (missing, running, interrupted, failed, unscored, finished) and job id, and stop.", rich_help_panel=CLUSTER_PANEL)] = False,
    slurm: Annotated[Optional[list[str]], typer.Option("--slurm", help="Slurm setting KEY=VALUE over the suite's slurm: section (partition, time, cpus_per_task, gpus_per_task, mem_gb, array_parallelism, account, qos, job_name, setup, sbatch.OPTION); repeatable.", rich_help_panel=CLUSTER_PANEL)] = None,
    jobs_dir: Annotated[Path, typer.Option("--jobs-dir", help="Folder for submitit's job scripts and logs.", rich_help_panel=CLUSTER_PANEL)] = Path("runs/.jobs"),
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the submitted array job and print the report (default: wait for submitit-local, not for slurm).", rich_help_panel=CLUSTER_PANEL)] = None,  # type: ignore[assignment]
) -> None:
    """Run a suite: train every entry, score it, print the report."""
    from disbench.suites.entry import pending_indices, suite_status
    from disbench.suites.local import LocalExecutor
    from disbench.suites.slurm import SubmititExecutor
    from disbench.suites.slurm_settings import slurm_overrides
    from disbench.suites.suite_file import load_suite

    if executor not in EXECUTORS:
        raise UsageError(f"unknown --executor {executor!r}; use one of {', '.join(EXECUTORS)}.")
    loaded = load_suite(suite)
    if stack is not None:
        loaded.stack = stack
    if list_runs:
        _print_listing(loaded, loaded.select(index) if index else list(loaded.entries()))
        return
    if status:
        _print_status(suite_status(loaded, runs_dir, index))
        return
    opt.check_format(fmt)  # after --list and --status: the report's formats import every metric
    check_leaderboard_writable(leaderboard)  # before the first entry trains
    loaded.check_metrics()
    if executor == "local":
        entries = loaded.select(index)
        with RichProgress(quiet=quiet) as progress:
            LocalExecutor(jobs).run(loaded, entries, runs_dir, leaderboard, device, overwrite, progress)
        _emit_report(leaderboard, [loaded.spec(e).run_id for e in entries], fmt, out, quiet)
        return

    cluster = "slurm" if executor == "slurm" else "local"
    settings = loaded.slurm.with_overrides(slurm_overrides(slurm))
    statuses = suite_status(loaded, runs_dir, index)
    todo = pending_indices(statuses, overwrite)
    held = sum(s.state == "running" for s in statuses)
    if not todo:
        info(f"suite {loaded.name}: nothing to submit ({len(statuses) - held} finished, {held} running); `--status` shows them.")
        return
    submission = SubmititExecutor(cluster, jobs_dir, settings).submit(loaded, todo, runs_dir, leaderboard, device, overwrite)
    info(
        f"submitted {len(todo)} of {len(statuses)} entries of suite {loaded.name} as job {submission.job_id}"
        + (f" ({held} still running, left alone)" if held else "")
        + f"; logs in {jobs_dir}/{submission.job_id}"
    )
    stdout.print(submission.job_id, highlight=False)
    if wait if wait is not None else cluster == "local":
        failures = submission.wait()
        _emit_report(leaderboard, [s.run_id for s in statuses], fmt, out, quiet)
        if failures:
            first_index, first_error = failures[0]
            raise DisbenchError(
                f"{len(failures)} of {len(todo)} tasks failed (entry {first_index}: {first_error}); "
                "rerun the same command to resubmit them, `--status` to see where each stands."
            )


def _print_listing(suite, entries) -> None:
    """``index, run id, label, estimated cost`` per entry on stdout; the total and its source on stderr."""
    from disbench.suites.cost import Cost, cost_model, duration_text, listing_costs

    model = cost_model()
    costs = listing_costs(suite, entries, model)
    # one plain write: rich's per-line rendering costs seconds over a study's thousands of lines
    typer.echo("".join(f"{e.index}\t{suite.spec(e).run_id}\t{e.label or ''}\t{duration_text(c)}\n" for e, c in zip(entries, costs)), nl=False)
    known = [c for c in costs if c is not None]
    unknown = len(costs) - len(known)
    partial = sum(not c.complete for c in known)
    if not model.sources:
        info("estimated cost: unknown (no committed leaderboards with timings in results/; a source checkout has them).")
        return
    notes = ([f"{unknown} entries have no such run (?)"] if unknown else []) + (
        [f"{partial} leave out metrics no such run timed (+)"] if partial else [])
    total = Cost(sum(c.seconds for c in known), partial == 0)
    info(
        f"estimated cost: {duration_text(total)} for {len(known)} of {len(costs)} entries, one after another "
        "(the fastest seconds per training step and per evaluation point that committed runs of the same method "
        f"and dataset recorded in results/, on a 2-core CPU){''.join('; ' + n for n in notes)}."
    )


def _print_status(statuses) -> None:
    from collections import Counter

    typer.echo("".join(f"{s.index}\t{s.run_id}\t{s.state}\t{s.job_id}\t{s.label}\n" for s in statuses), nl=False)
    counts = Counter(s.state for s in statuses)
    info(", ".join(f"{count} {state}" for state, count in sorted(counts.items())))


def _emit_report(leaderboard: Path, run_ids: list[str], fmt: str, out: Path | None, quiet: bool) -> None:
    from disbench.cli.report import emit
    from disbench.report.pooling import build_report

    if not Path(leaderboard).is_file():
        info(f"no rows in {leaderboard} yet.")
        return
    emit(build_report(leaderboard, run_ids=run_ids), fmt, out)
    if not quiet:
        info(f"leaderboard: {leaderboard}")
