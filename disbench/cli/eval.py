"""`disbench eval`: score finished runs, or a codes file, with registered metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import RichProgress, handle_errors, info, stdout
from disbench.errors import UsageError

CODES_PANEL = "Codes files"

Metric = Annotated[
    list[str], typer.Option("--metric", "-M", help="Metric name, repeatable; `all` for every metric that applies.", rich_help_panel=opt.RUN_PANEL)
]


@handle_errors
def eval_command(
    ctx: typer.Context,
    runs: Annotated[Optional[list[Path]], typer.Argument(help="Run folders to score (default: every finished run in --runs-dir).")] = None,
    metric: Metric = ["all"],
    set_values: opt.SetValues = None,
    config: opt.ConfigFile = None,
    codes: Annotated[Optional[Path], typer.Option("--codes", help="Codes file (.npy, .npz, .h5, .pt) to score instead of runs.", rich_help_panel=CODES_PANEL)] = None,
    factors: Annotated[Optional[Path], typer.Option("--factors", help="Factors file matching --codes row by row.", rich_help_panel=CODES_PANEL)] = None,
    codes_key: Annotated[Optional[str], typer.Option("--codes-key", help="Array to read from a codes file holding several.", rich_help_panel=CODES_PANEL)] = None,
    factors_key: Annotated[Optional[str], typer.Option("--factors-key", help="Array to read from a factors file holding several.", rich_help_panel=CODES_PANEL)] = None,
    name: Annotated[str, typer.Option("--name", help="Method name recorded for --codes rows.", rich_help_panel=CODES_PANEL)] = "codes",
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="With --codes: take factor names and kinds from this dataset.", rich_help_panel=CODES_PANEL)] = None,
    n_eval: Annotated[int, typer.Option("--n-eval", help="Evaluation points drawn per run.", rich_help_panel=opt.RUN_PANEL)] = 10_000,
    n_test: Annotated[int, typer.Option("--n-test", help="Held-out points for metrics that fit a predictor.", rich_help_panel=opt.RUN_PANEL)] = 5_000,
    eval_seed: Annotated[int, typer.Option("--eval-seed", help="Seed of the evaluation points and metrics.", rich_help_panel=opt.RUN_PANEL)] = 0,
    device: opt.Device = "auto",
    runs_dir: opt.RunsDir = opt.DEFAULT_RUNS_DIR,
    leaderboard: opt.Leaderboard = opt.DEFAULT_LEADERBOARD,
    overwrite: opt.Overwrite = False,
    quiet: opt.Quiet = False,
) -> None:
    """Score runs (or a codes file) and append the rows to the leaderboard; prints the scores."""
    from disbench.config import parse_set_options
    from disbench import evaluation

    values = opt.merge_config_file(
        ctx, config,
        dict(runs=runs, metric=metric, set=set_values, codes=codes, factors=factors, codes_key=codes_key,
             factors_key=factors_key, name=name, dataset=dataset, n_eval=n_eval, n_test=n_test,
             eval_seed=eval_seed, device=device, runs_dir=runs_dir, leaderboard=leaderboard,
             overwrite=overwrite, quiet=quiet, config=config),
    )
    overrides = parse_set_options(values["set"])
    metric_names = list(values["metric"] or ["all"])
    with RichProgress(quiet=values["quiet"]) as progress:
        if values["codes"] is not None or values["factors"] is not None:
            if values["codes"] is None or values["factors"] is None:
                raise UsageError("--codes and --factors go together: pass both files.")
            from disbench.arrays_io import load_array

            outcomes = [
                evaluation.evaluate_codes(
                    load_array(values["codes"], values["codes_key"], "codes"),
                    load_array(values["factors"], values["factors_key"], "factors"),
                    values["name"], metric_names, overrides, values["leaderboard"], int(values["eval_seed"]),
                    values["dataset"], progress,
                )
            ]
        else:
            settings = evaluation.EvalSettings(int(values["n_eval"]), int(values["n_test"]), int(values["eval_seed"]))
            if values["runs"]:
                outcomes = [
                    evaluation.evaluate_run(Path(r), metric_names, overrides, values["leaderboard"], settings,
                                            values["device"], bool(values["overwrite"]), progress)
                    for r in values["runs"]
                ]
            else:
                outcomes = evaluation.evaluate_pending(
                    values["runs_dir"], metric_names, overrides, values["leaderboard"], settings,
                    values["device"], bool(values["overwrite"]), progress,
                )
                if not outcomes:
                    raise UsageError(
                        f"no finished runs in {str(values['runs_dir'])!r}; train one with `disbench train --method ...`."
                    )
    if not values["quiet"]:
        for outcome in outcomes:
            for metric_name, reason in outcome.skipped:
                info(f"{outcome.run_id}: {metric_name} skipped: {reason}")
    rows = [row for outcome in outcomes for row in outcome.rows]
    print_scores(rows)
    if not values["quiet"]:
        info(f"{len(rows)} rows appended to {values['leaderboard']}")


def print_scores(rows: list[dict]) -> None:
    """The aggregate scores just computed: one column per metric when few fit, else one line per score."""
    from rich.table import Table

    aggregate = [r for r in rows if r["factor"] == "all"]
    if not aggregate:
        return
    metrics = list(dict.fromkeys(r["metric"] for r in aggregate))
    table = Table(box=None, pad_edge=False)
    table.add_column("run")
    table.add_column("space")
    if len(metrics) > 4:  # wide tables wrap into unreadable columns: go long
        table.add_column("metric")
        table.add_column("value", justify="right")
        for r in aggregate:
            table.add_row(r["run_id"], r["space"], r["metric"], f"{r['value']:.4f}")
        stdout.print(table)
        return
    for m in metrics:
        table.add_column(m, justify="right")
    grouped: dict[tuple[str, str], dict[str, float]] = {}
    for r in aggregate:
        grouped.setdefault((r["run_id"], r["space"]), {})[r["metric"]] = r["value"]
    for (run_id, space), scores in grouped.items():
        table.add_row(run_id, space, *(f"{scores[m]:.4f}" if m in scores else "–" for m in metrics))
    stdout.print(table)
