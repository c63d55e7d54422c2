"""`disbench eval`: score finished runs, or a codes file, with registered metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import RichProgress, handle_errors, info
from disbench.errors import UsageError

CODES_PANEL = "Codes files"
#: the formats of the scores printed on stdout
EVAL_FORMATS = ("table", "csv", "json", "md")

Metric = Annotated[
    list[str], typer.Option("--metric", "-M", help="Metric name, repeatable; `all` for every metric that applies.", rich_help_panel=opt.RUN_PANEL)
]

CodesOption = Annotated[Optional[str], typer.Option("--codes", help="Codes file (.npy, .npz, .h5, .pt; FILE:KEY picks an array) to score instead of runs.", rich_help_panel=CODES_PANEL)]
FactorsOption = Annotated[Optional[str], typer.Option("--factors", help="Factors file matching --codes row by row.", rich_help_panel=CODES_PANEL)]
TestCodesOption = Annotated[Optional[str], typer.Option("--test-codes", help="Held-out codes for the metrics that fit a predictor (default: they split --codes 2:1).", rich_help_panel=CODES_PANEL)]
TestFactorsOption = Annotated[Optional[str], typer.Option("--test-factors", help="Factors matching --test-codes row by row.", rich_help_panel=CODES_PANEL)]
CodesKeyOption = Annotated[Optional[str], typer.Option("--codes-key", help="Array to read from a codes file holding several.", rich_help_panel=CODES_PANEL)]
FactorsKeyOption = Annotated[Optional[str], typer.Option("--factors-key", help="Array to read from a factors file holding several.", rich_help_panel=CODES_PANEL)]
TestCodesKeyOption = Annotated[Optional[str], typer.Option("--test-codes-key", help="Array to read from the --test-codes file.", rich_help_panel=CODES_PANEL)]
TestFactorsKeyOption = Annotated[Optional[str], typer.Option("--test-factors-key", help="Array to read from the --test-factors file.", rich_help_panel=CODES_PANEL)]
NameOption = Annotated[Optional[str], typer.Option("--name", help="Name of the --codes rows (method and label; default: the codes file's name).", rich_help_panel=CODES_PANEL)]


@handle_errors
def eval_command(
    ctx: typer.Context,
    runs: Annotated[Optional[list[Path]], typer.Argument(help="Run folders to score (default: every finished run in --runs-dir).")] = None,
    metric: Metric = ["all"],
    set_values: opt.SetValues = None,
    config: opt.ConfigFile = None,
    codes: CodesOption = None,
    factors: FactorsOption = None,
    test_codes: TestCodesOption = None,
    test_factors: TestFactorsOption = None,
    codes_key: CodesKeyOption = None,
    factors_key: FactorsKeyOption = None,
    test_codes_key: TestCodesKeyOption = None,
    test_factors_key: TestFactorsKeyOption = None,
    name: NameOption = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="With --codes: take factor names and kinds from this dataset.", rich_help_panel=CODES_PANEL)] = None,
    n_eval: Annotated[int, typer.Option("--n-eval", help="Evaluation points drawn per run.", rich_help_panel=opt.RUN_PANEL)] = 10_000,
    n_test: Annotated[Optional[int], typer.Option("--n-test", help="Held-out points for metrics that fit a predictor (default: half of --n-eval, at most 5,000).", rich_help_panel=opt.RUN_PANEL)] = None,
    eval_seed: Annotated[int, typer.Option("--eval-seed", help="Seed of the evaluation points and metrics.", rich_help_panel=opt.RUN_PANEL)] = 0,
    device: opt.Device = "auto",
    runs_dir: opt.RunsDir = opt.DEFAULT_RUNS_DIR,
    leaderboard: opt.Leaderboard = opt.DEFAULT_LEADERBOARD,
    overwrite: opt.Overwrite = False,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="When a run fails, score the others (exit 1 at the end).", rich_help_panel=opt.OUTPUT_PANEL)] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Scores on stdout as table, csv, json or md.", rich_help_panel=opt.OUTPUT_PANEL)] = "table",
    quiet: opt.Quiet = False,
) -> None:
    """Score runs (or a codes file) and write the rows to the leaderboard; prints the scores."""
    from disbench import evaluation
    from disbench.config import parse_set_options

    values = opt.merge_config_file(
        ctx, config,
        dict(runs=runs, metric=metric, set=set_values, codes=codes, factors=factors, test_codes=test_codes,
             test_factors=test_factors, codes_key=codes_key, factors_key=factors_key, test_codes_key=test_codes_key,
             test_factors_key=test_factors_key, name=name, dataset=dataset, n_eval=n_eval, n_test=n_test,
             eval_seed=eval_seed, device=device, runs_dir=runs_dir, leaderboard=leaderboard, overwrite=overwrite,
             keep_going=keep_going, format=fmt, quiet=quiet, config=config),
    )
    if values["format"] not in EVAL_FORMATS:
        raise UsageError(f"unknown --format {values['format']!r}; use one of {', '.join(EVAL_FORMATS)}.")
    settings = evaluation.EvalSettings(
        int(values["n_eval"]), None if values["n_test"] is None else int(values["n_test"]), int(values["eval_seed"])
    )
    request = evaluation.EvalRequest(
        metrics=list(values["metric"] or ["all"]), overrides=parse_set_options(values["set"]),
        leaderboard=values["leaderboard"], settings=settings, device=values["device"],
        overwrite=bool(values["overwrite"]), keep_going=bool(values["keep_going"]),
    )
    codes_mode = any(values[k] is not None for k in ("codes", "factors", "test_codes", "test_factors"))
    request.resolve(codes_only=codes_mode)  # a bad metric name or option fails before anything else
    if codes_mode and values["runs"]:
        raise UsageError("pass either run folders or --codes/--factors, not both; score them in two commands.")
    if not codes_mode and values["name"] is not None:
        raise UsageError("--name names the rows of --codes; a trained run takes its name from `disbench train --name`.")
    # bars on a terminal; on a pipe or in a log file a heartbeat line now and then
    with RichProgress(quiet=values["quiet"]) as progress:
        request.progress = progress
        if codes_mode:
            outcomes = [evaluation.evaluate_codes(read_codes_input(values), request)]
        else:
            run_dirs = values["runs"] or list(_finished_runs(values["runs_dir"]))
            outcomes = evaluation.evaluate_runs(run_dirs, request)
    report_outcomes(outcomes, values)
    if any(o.error for o in outcomes):
        raise typer.Exit(1)


def _finished_runs(runs_dir: Path):
    from disbench.store import finished_runs

    if Path(runs_dir).exists() and not Path(runs_dir).is_dir():
        raise UsageError(f"--runs-dir {str(runs_dir)!r} is a file; give the folder that holds the run folders (default: runs).")
    found = list(finished_runs(runs_dir))
    if not found:
        raise UsageError(f"no finished runs in {str(runs_dir)!r}; train one with `disbench train --method ...`.")
    return found


def read_codes_input(values: dict):
    """The codes, factors and optional held-out split named by the options."""
    from disbench.evaluation.codes_files import load_array, split_key
    from disbench.evaluation import CodesInput, check_codes_name, default_codes_name

    if values["codes"] is None or values["factors"] is None:
        raise UsageError("--codes and --factors go together: pass both files.")
    if (values["test_codes"] is None) != (values["test_factors"] is None):
        raise UsageError("--test-codes and --test-factors go together: pass both files, or neither.")
    if values["name"] is not None:
        name = check_codes_name(values["name"])
    else:
        path, key = split_key(values["codes"], values["codes_key"])
        name = check_codes_name(default_codes_name(path, key))

    def load(option: str, what: str):
        if values[option] is None:
            return None
        return load_array(values[option], values[f"{option}_key"], what)

    return CodesInput(
        codes=load("codes", "codes"), factors=load("factors", "factors"), name=name, dataset=values["dataset"],
        test_codes=load("test_codes", "test codes"), test_factors=load("test_factors", "test factors"),
    )


def report_outcomes(outcomes: list, values: dict) -> None:
    """Scores on stdout; what was written, skipped and failed on stderr (one line each)."""
    from disbench.evaluation import skip_summary

    rows = [row for outcome in outcomes for row in outcome.rows]
    text = render_scores(rows, values["format"])
    if text:
        typer.echo(text, nl=False)
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        info(f"error: {outcome.run_id} failed: {outcome.error}")
    for outcome in outcomes:
        for note in outcome.notes:
            info(f"note: {outcome.run_id} {note}")
    if values["quiet"]:
        return
    summary = skip_summary(outcomes)
    if summary:
        info(summary)
    added = sum(o.added for o in outcomes)
    replaced = sum(o.replaced for o in outcomes)
    scored = len(outcomes) - len(failed)
    line = f"{added} rows written to {values['leaderboard']} ({scored} of {len(outcomes)} scored"
    line += f"; {replaced} earlier rows replaced)" if replaced else ")"
    info(line)


# --- the scores on stdout --------------------------------------------------------------

#: the columns of the long form (csv, json, and the table when many metrics do not fit across)
LONG_COLUMNS = ("run_id", "label", "steps", "space", "metric", "value")


def score_records(rows: list[dict]) -> tuple[list[str], list[list]]:
    """The aggregate scores as (columns, records): one column per metric when at most four, else long."""
    aggregate = [r for r in rows if r["factor"] == "all"]
    metrics = list(dict.fromkeys(r["metric"] for r in aggregate))
    if len(metrics) > 4:
        return list(LONG_COLUMNS), [[r[c] for c in LONG_COLUMNS] for r in aggregate]
    grouped: dict[tuple[str, str, int, str], dict[str, float]] = {}
    for r in aggregate:  # a run with kept checkpoints (save_at) has a line per step
        grouped.setdefault((r["run_id"], r.get("label", ""), r["steps"], r["space"]), {})[r["metric"]] = r["value"]
    records = [[*key, *(scores.get(m) for m in metrics)] for key, scores in grouped.items()]
    return ["run_id", "label", "steps", "space", *metrics], records


def render_scores(rows: list[dict], fmt: str) -> str:
    """The scores as text in ``fmt``; never wrapped or truncated, whatever the terminal's width."""
    import csv
    import io
    import json

    aggregate = [r for r in rows if r["factor"] == "all"]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(LONG_COLUMNS)
        writer.writerows([[_plain(r[c]) for c in LONG_COLUMNS] for r in aggregate])
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps([{c: r[c] for c in LONG_COLUMNS} for r in aggregate], indent=2) + "\n"
    if not aggregate:
        return ""
    columns, records = score_records(rows)
    cells = [[_shown(v) for v in record] for record in records]
    if fmt == "md":
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---:" if _numeric(c, records, columns) else "---" for c in columns) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    widths = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    numeric = [_numeric(c, records, columns) for c in columns]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(list(columns)), *(line(row) for row in cells)]) + "\n"


def _numeric(column: str, records: list[list], columns: list[str]) -> bool:
    i = columns.index(column)
    return any(isinstance(r[i], float) for r in records)


def _shown(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _plain(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)

