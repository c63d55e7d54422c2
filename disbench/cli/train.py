"""`disbench train`: train (or fit) one run."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import RichProgress, handle_errors, info, stdout
from disbench.errors import UsageError


@handle_errors
def train_command(
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
    seeds: Annotated[
        Optional[str],
        typer.Option("--seeds", metavar="SEEDS",
                     help="Train one run per seed (e.g. 0-49 or 0,3,7) as one stacked model; with --set KEY=1,2,4 "
                     "one run per value too. Each run gets its own folder, as if trained alone.",
                     rich_help_panel=opt.RUN_PANEL),
    ] = None,
) -> None:
    """Train a method on a dataset; an identical finished run is skipped, an interrupted one resumed.

    Prints the run folder on stdout (one line per run). One process at a time trains a run folder.
    Several runs (--seeds, or comma-separated numbers in --set) of a method that can stack train
    as one stacked model.
    """
    from disbench.config import parse_set_options
    from disbench.config import check_label
    from disbench.training.runs import train_run
    from disbench.training.sweeps import parse_seeds, sweep_specs

    values = opt.merge_config_file(
        ctx, config,
        dict(method=method, dataset=dataset, seed=seed, steps=steps, set=set_values, device=device,
             runs_dir=runs_dir, overwrite=overwrite, quiet=quiet, config=config, name=name, wait=wait,
             save_at=save_at, seeds=seeds),
    )
    if not values["method"]:
        raise UsageError("which method? Pass --method NAME (or `method: NAME` in --config); `disbench list methods` lists them.")
    label = check_label(values["name"])
    overrides = parse_set_options(values["set"])
    if values.get("save_at") is not None:
        overrides["save_at"] = str(values["save_at"])
    if values.get("seeds") is not None and ctx.get_parameter_source("seed").name not in ("DEFAULT", "DEFAULT_MAP"):
        raise UsageError("give either --seed or --seeds, not both.")
    seed_list = parse_seeds(str(values["seeds"])) if values.get("seeds") is not None else [values["seed"]]
    specs = sweep_specs(values["method"], values["dataset"], seed_list, values["steps"], overrides)
    if len(specs) > 1:
        _train_several(specs, values, label)
        return
    spec = specs[0]
    with RichProgress(quiet=values["quiet"]) as progress:
        result = train_run(spec, values["runs_dir"], values["device"], bool(values["overwrite"]), progress,
                           label=label, wait=bool(values["wait"]))
    if not values["quiet"]:
        verb = {"trained": "trained", "resumed": "resumed and finished", "skipped": "already finished, skipped"}[result.status]
        info(f"{spec.run_id}: {verb} ({result.train_seconds:.1f} s of training)")
    stdout.print(str(result.run_dir), highlight=False)


def _train_several(specs: list, values: dict, label: str | None) -> None:
    """Train a sweep (stacked where the method can stack); exit 1 if any run failed."""
    from disbench.errors import DisbenchError
    from disbench.training.stacked_runs import train_many

    with RichProgress(quiet=values["quiet"]) as progress:
        results = train_many(specs, values["runs_dir"], values["device"], bool(values["overwrite"]), progress,
                             labels=[label] * len(specs), wait=bool(values["wait"]), info=info)
    verbs = {"trained": "trained", "resumed": "resumed and finished", "skipped": "already finished, skipped",
             "failed": "failed"}
    for spec, result in zip(specs, results):
        if not values["quiet"] or result.status == "failed":
            detail = f": {result.error}" if result.error else f" ({result.train_seconds:.1f} s of training)"
            info(f"{spec.run_id}: {verbs[result.status]}{detail}")
        stdout.print(str(result.run_dir), highlight=False)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise DisbenchError(f"{len(failed)} of {len(results)} runs failed (named above); the others are finished.")
