"""`disbench report`: the leaderboard as method x (dataset, metric), mean ± std over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import handle_errors, info, stdout

FILTER_PANEL = "Filters"


def emit(table, fmt: str, out: Path | None) -> None:
    """Draw the report on the terminal, or write it in ``fmt`` to stdout or ``out``."""
    from disbench.atomic import write_text
    from disbench.report import REFERENCE_METHODS, render

    if fmt == "table" and out is None:
        from rich.table import Table

        rich_table = Table(title="disbench leaderboard (mean ± std (n seeds); best in bold)", title_justify="left")
        rich_table.add_column("method")
        for column in table.columns:
            rich_table.add_column(table.header(column), justify="right")
        for method in table.methods:
            cells = []
            for column in table.columns:
                cell = table.cells.get((method, column))
                cells.append("–" if cell is None else f"[bold green]{cell.text()}[/]" if cell.best else cell.text())
            label = f"[dim italic]{method} (ref.)[/]" if method in REFERENCE_METHODS else method
            rich_table.add_row(label, *cells)
        stdout.print(rich_table)
        return
    text = render(table, "md" if fmt == "table" else fmt)
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text(out, text)
        info(f"wrote {out}")


@handle_errors
def report(
    leaderboard: opt.Leaderboard = opt.DEFAULT_LEADERBOARD,
    fmt: opt.Format = "table",
    out: opt.Out = None,
    method: Annotated[Optional[list[str]], typer.Option("--method", "-m", help="Only these methods (repeatable).", rich_help_panel=FILTER_PANEL)] = None,
    dataset: Annotated[Optional[list[str]], typer.Option("--dataset", "-d", help="Only these datasets (repeatable).", rich_help_panel=FILTER_PANEL)] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-M", help="Only these metrics (repeatable).", rich_help_panel=FILTER_PANEL)] = None,
    space: Annotated[Optional[str], typer.Option("--space", help="Score this space (default: joint, or a run's only space).", rich_help_panel=FILTER_PANEL)] = None,
    factor: Annotated[str, typer.Option("--factor", help="A factor name, or `all` for the aggregate score.", rich_help_panel=FILTER_PANEL)] = "all",
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also write a bar-chart PNG of the table.", rich_help_panel=opt.OUTPUT_PANEL)] = None,
) -> None:
    """Summarise the leaderboard: mean ± std over seeds, best value per column in bold."""
    from disbench.report import build_report

    table = build_report(leaderboard, method, dataset, metric, space, factor)
    emit(table, opt.check_format(fmt), out)
    if plot is not None:
        from disbench.plots import plot_report

        plot_report(table, plot)
        info(f"wrote {plot}")
