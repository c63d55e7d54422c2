"""Options shared by several commands: the same name means the same thing everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from disbench.config import load_yaml_file, parse_set_options
from disbench.errors import UsageError

RUN_PANEL = "Run"
OUTPUT_PANEL = "Output"

Method = Annotated[
    Optional[str], typer.Option("--method", "-m", help="Method name (`disbench list methods`); required here or in --config.", rich_help_panel=RUN_PANEL)
]
Dataset = Annotated[str, typer.Option("--dataset", "-d", help="Dataset name (`disbench list datasets`).", rich_help_panel=RUN_PANEL)]
Seed = Annotated[int, typer.Option("--seed", help="Random seed of the run, 0 to 4294967295.", rich_help_panel=RUN_PANEL)]
Steps = Annotated[Optional[int], typer.Option("--steps", min=1, help="Training steps (default: the method's preset).", rich_help_panel=RUN_PANEL)]
# each command's --set says which prefixes it takes: a help text is a promise
SetValues = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Metric option METRIC.KEY=VALUE (repeatable), e.g. mig.num_bins=20.", rich_help_panel=RUN_PANEL),
]
TrainSetValues = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Hyperparameter KEY=VALUE (repeatable); prefix with method. or dataset. to disambiguate.", rich_help_panel=RUN_PANEL),
]
DatasetSetValues = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Dataset option KEY=VALUE (repeatable), e.g. num_styles=3 (`disbench data info NAME` lists them).", rich_help_panel=RUN_PANEL),
]
ConfigFile = Annotated[
    Optional[Path], typer.Option("--config", help="YAML file whose keys are this command's option names.", rich_help_panel=RUN_PANEL)
]
Device = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.", rich_help_panel=RUN_PANEL)]
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder of run folders.", rich_help_panel=OUTPUT_PANEL)]
Leaderboard = Annotated[Path, typer.Option("--leaderboard", help="Long-format leaderboard CSV.", rich_help_panel=OUTPUT_PANEL)]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Redo finished work instead of skipping it.", rich_help_panel=OUTPUT_PANEL)]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or messages.", rich_help_panel=OUTPUT_PANEL)]
Format = Annotated[str, typer.Option("--format", "-f", help="table, md, csv, latex or json.", rich_help_panel=OUTPUT_PANEL)]
Out = Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the output to this file instead of stdout.", rich_help_panel=OUTPUT_PANEL)]

DEFAULT_RUNS_DIR = Path("runs")
DEFAULT_LEADERBOARD = Path("results/leaderboard.csv")


def merge_config_file(ctx: typer.Context, config: Path | None, values: dict[str, Any]) -> dict[str, Any]:
    """Fill options left at their defaults from ``--config``; command-line values win.

    Keys are option names (``runs-dir`` or ``runs_dir``); ``set`` takes a mapping.
    """
    if config is None:
        return values
    data = load_yaml_file(config)
    merged = dict(values)
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        if key == "config" or key not in values:
            valid = ", ".join(sorted(k.replace("_", "-") for k in values if k != "config"))
            raise UsageError(f"config file {str(config)!r}: unknown key {raw_key!r}; valid keys: {valid}.")
        if key == "set":
            from_file = value if isinstance(value, dict) else parse_set_options(list(value or []))
            from_cli = parse_set_options(values.get("set"))
            merged["set"] = [f"{k}={v}" for k, v in {**{str(k): v for k, v in from_file.items()}, **from_cli}.items()]
            continue
        source = ctx.get_parameter_source(key)
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):
            merged[key] = _convert_like_the_option(ctx, key, raw_key, value, config)
    return merged


def _convert_like_the_option(ctx: typer.Context, key: str, raw_key: Any, value: Any, config: Path) -> Any:
    """A value from a config file, checked and converted as the command line would (``steps: ten`` is refused)."""
    param = next((p for p in ctx.command.params if p.name == key), None)
    if param is None or value is None:
        return value
    try:
        return param.process_value(ctx, value)
    except Exception as exc:  # click's BadParameter, without importing click
        detail = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise UsageError(f"config file {str(config)!r}: {raw_key}: {' '.join(detail.split())}") from None


def check_format(fmt: str) -> str:
    from disbench.report.rendering import FORMATS

    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}.")
    return fmt
