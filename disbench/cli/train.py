"""`disbench train`: train (or fit) one run."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import RichProgress, handle_errors, info, stdout
from disbench.errors import UsageError


@handle_errors
def train(
    ctx: typer.Context,
    method: opt.Method = None,
    dataset: opt.Dataset = "synthetic",
    seed: opt.Seed = 0,
    steps: opt.Steps = None,
    set_values: opt.TrainSetValues = None,
    config: opt.ConfigFile = None,
    device: opt.Device = "auto",
    runs_dir: opt.RunsDir = opt.DEFAULT_RUNS_DIR,
    overwrite: opt.Overwrite = False,
    quiet: opt.Quiet = False,
    name: Annotated[
        Optional[str],
        typer.Option("--name", "--tag", help="Label of the run, used by reports (not part of its hash; "
                     "a finished run trained again with another label is relabelled, not retrained).",
                     rich_help_panel=opt.RUN_PANEL),
    ] = None,
    save_at: Annotated[
        Optional[str],
        typer.Option("--save-at", metavar="STEPS",
                     help="Keep the checkpoints of these steps (comma-separated, e.g. 1000,3000,10000); "
                     "`disbench eval` scores each of them besides the final one. Same as --set save_at=...",
                     rich_help_panel=opt.RUN_PANEL),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="If another process trains this run, wait for it instead of failing.",
                           rich_help_panel=opt.RUN_PANEL)
    ] = False,
) -> None:
    """Train a method on a dataset; an identical finished run is skipped, an interrupted one resumed.

    Prints the run folder on stdout. One process at a time trains a run folder.
    """
    from disbench.config import parse_set_options
    from disbench.runs import check_label, resolve_run_spec, train as train_run

    values = opt.merge_config_file(
        ctx, config,
        dict(method=method, dataset=dataset, seed=seed, steps=steps, set=set_values, device=device,
             runs_dir=runs_dir, overwrite=overwrite, quiet=quiet, config=config, name=name, wait=wait,
             save_at=save_at),
    )
    if not values["method"]:
        raise UsageError("which method? Pass --method NAME (or `method: NAME` in --config); `disbench list methods` lists them.")
    label = check_label(values["name"])
    overrides = parse_set_options(values["set"])
    if values.get("save_at") is not None:
        overrides["save_at"] = str(values["save_at"])
    spec = resolve_run_spec(values["method"], values["dataset"], values["seed"], values["steps"], overrides)
    with RichProgress(quiet=values["quiet"]) as progress:
        result = train_run(spec, values["runs_dir"], values["device"], bool(values["overwrite"]), progress,
                           label=label, wait=bool(values["wait"]))
    if not values["quiet"]:
        verb = {"trained": "trained", "resumed": "resumed and finished", "skipped": "already finished, skipped"}[result.status]
        info(f"{spec.run_id}: {verb} ({result.train_seconds:.1f} s of training)")
    stdout.print(str(result.run_dir), highlight=False)
