"""`disbench data`: inspect datasets."""

from __future__ import annotations

from typing import Annotated

import typer

from disbench.cli import options as opt
from disbench.cli.output import handle_errors, stdout

data_app = typer.Typer(help="Inspect, preview and prepare datasets.", no_args_is_help=True)


@data_app.command("info")
@handle_errors
def info_command(
    name: Annotated[str, typer.Argument(help="Dataset name (`disbench list datasets`).")],
    set_values: opt.SetValues = None,
) -> None:
    """Factors, groups, sizes, and where the dataset's files are looked for."""
    from rich.table import Table

    from disbench.config import parse_set_options
    from disbench.runs import build_dataset

    description = build_dataset(name, parse_set_options(set_values)).describe()
    stdout.print(f"[bold]{description['name']}[/]  observations {tuple(description['observation_shape'])}")
    for key, value in description.items():
        if key not in {"name", "observation_shape", "factors", "groups"}:
            stdout.print(f"{key}: {value}", highlight=False)
    table = Table(box=None, pad_edge=False)
    table.add_column("factor")
    table.add_column("group")
    table.add_column("values", justify="right")
    for factor in description["factors"]:
        table.add_row(factor["name"], factor["group"], str(factor["values"]))
    stdout.print(table)
    stdout.print(f"groups: {', '.join(description['groups'])} (content first; views share content and one style group)")
