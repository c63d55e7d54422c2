"""The `disbench` command line: thin Typer commands over the plain API, one module per verb.

Exit codes: 0 success, 1 failure at run time, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

from typing import Annotated

import typer

from disbench.cli.bench import bench
from disbench.cli.data import data_app
from disbench.cli.env import env
from disbench.cli.eval import eval_command
from disbench.cli.list import list_command
from disbench.cli.output import STATE, OneLineUsageErrors, stdout
from disbench.cli.report import report
from disbench.cli.train import train_command

EPILOG = (
    "Examples:  disbench bench --suite quick  ·  "
    "disbench train -m beta-vae -d synthetic --seed 1 --steps 2000  ·  "
    "disbench eval --metric mig --metric sap  ·  disbench report --format md"
)

app = typer.Typer(
    name="disbench",
    help="Benchmark disentanglement methods under one protocol: train, evaluate, report.",
    epilog=EPILOG,
    no_args_is_help=True,
    cls=OneLineUsageErrors,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from disbench import __version__

        stdout.print(f"disbench {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", "-V", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    STATE["debug"] = debug


app.command("train", epilog="Example: disbench train -m beta-vae -d synthetic --seed 1 --steps 2000 --set beta=8")(train_command)
app.command("eval", epilog="Examples: disbench eval --metric mig --metric sap  ·  disbench eval --codes z.npz --factors y.npz --name mine --metric all")(eval_command)
app.command("report", epilog="Example: disbench report --format md --metric mig --out results/table.md")(report)
app.command("bench", epilog="Example: disbench bench --suite quick")(bench)
app.command("list", epilog="Example: disbench list methods 'vae*'")(list_command)
app.add_typer(data_app, name="data")
app.command("env")(env)


def main() -> None:
    app()
