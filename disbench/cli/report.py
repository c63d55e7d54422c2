"""`disbench report`: leaderboards as entry x (dataset, metric), mean ± std over seeds; study analyses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import handle_errors, info, stdout
from disbench.errors import UsageError

FILTER_PANEL = "Filters"
STUDY_PANEL = "Study"
X_COLUMNS = ("steps",)


def emit_text(text: str, out: Path | None) -> None:
    """Data to stdout, or atomically to ``out``."""
    from disbench.store.atomic import write_text

    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text(out, text)
        info(f"wrote {out}")


def emit(table, fmt: str, out: Path | None) -> None:
    """Draw the report on a terminal (Rich, folded, never cut), or write it in ``fmt`` to stdout or ``out``.

    On a pipe ``table`` is plain aligned text, one line per entry, best cells marked ``*``.
    The protocol the scores were computed at goes to stderr (stdout is the data).
    """
    from disbench.report.rendering import render

    note = table.protocol_note()
    if note:
        info(note)
    if fmt == "table" and out is None and stdout.is_terminal:
        from rich.markup import escape
        from rich.table import Table

        rich_table = Table(title="mean ± std (n seeds); best in bold", title_justify="left")
        rich_table.add_column("entry", overflow="fold")
        for column in table.columns:
            rich_table.add_column(escape(table.header(column)), justify="right", overflow="fold")
        for entry in table.entries:
            cells = []
            for column in table.columns:
                cell = table.cells.get((entry, column))
                cells.append("–" if cell is None else f"[bold green]{cell.text()}[/]" if cell.best else cell.text())
            label = f"[dim italic]{escape(entry)} (ref.)[/]" if table.is_reference(entry) else escape(entry)
            rich_table.add_row(label, *cells)
        stdout.print(rich_table)
        return
    emit_text(render(table, fmt), out)


def _default_heatmap(leaderboards: list[Path]) -> Path:
    first = leaderboards[0]
    return first.with_name(f"{first.stem}_correlations.png")


@handle_errors
def report(
    leaderboard: Annotated[
        Optional[list[str]],
        typer.Option("--leaderboard", help="Leaderboard CSV or glob (repeatable; merged, each score once, latest kept).", rich_help_panel=opt.OUTPUT_PANEL),
    ] = None,
    fmt: opt.Format = "table",
    out: opt.Out = None,
    method: Annotated[Optional[list[str]], typer.Option("--method", "-m", help="Only these methods (repeatable).", rich_help_panel=FILTER_PANEL)] = None,
    dataset: Annotated[Optional[list[str]], typer.Option("--dataset", "-d", help="Only these datasets (repeatable).", rich_help_panel=FILTER_PANEL)] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-M", help="Only these metrics (repeatable).", rich_help_panel=FILTER_PANEL)] = None,
    space: Annotated[
        Optional[list[str]],
        typer.Option("--space", help="Score these spaces, a column each (repeatable, wildcards; default: joint, or a run's only space).", rich_help_panel=FILTER_PANEL),
    ] = None,
    factor: Annotated[
        Optional[list[str]],
        typer.Option("--factor", help="Factor names or wildcards, a column each (repeatable; default `all`, the aggregate score).", rich_help_panel=FILTER_PANEL),
    ] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also write a figure (.png, .svg or .pdf).", rich_help_panel=opt.OUTPUT_PANEL)] = None,
    x: Annotated[Optional[str], typer.Option("--x", help="With --plot: draw each metric against this column (`steps`: every scored checkpoint).", rich_help_panel=opt.OUTPUT_PANEL)] = None,
    correlations: Annotated[
        bool, typer.Option("--correlations", help="Spearman correlation of every metric pair across runs, and its heatmap (--plot, default LEADERBOARD_correlations.png).", rich_help_panel=STUDY_PANEL)
    ] = False,
    variance: Annotated[
        bool, typer.Option("--variance", help="Share of each metric's variance explained by method, hyperparameters and seed.", rich_help_panel=STUDY_PANEL)
    ] = False,
    claims: Annotated[
        Optional[str],
        typer.Option("--claims", help="Check the claims a suite states (suite name or FILE.yaml): measured mean ± std over seeds, threshold, holds.", rich_help_panel=STUDY_PANEL),
    ] = None,
    html: Annotated[
        Optional[Path],
        typer.Option("--html", help="Write the whole report as one offline, interactive page instead: table, charts, study, traversals, provenance.", rich_help_panel=opt.OUTPUT_PANEL),
    ] = None,
    runs_dir: Annotated[
        Optional[Path],
        typer.Option("--runs-dir", help="With --html: folder of run folders whose traversals.png and reconstructions.png the page shows [default: runs].", rich_help_panel=opt.OUTPUT_PANEL),
    ] = None,
) -> None:
    """Summarise leaderboards: mean ± std over seeds of each method configuration, best value per column in bold.

    Runs pool into one row only when they differ in seed alone; other configurations get their
    own row, named by their label (`train --name`) or by the hyperparameters that differ.
    """
    from disbench.report.leaderboards import leaderboard_paths
    from disbench.report.pooling import build_report
    from disbench.report.rows import Selection

    fmt = opt.check_format(fmt)
    sources = list(leaderboard or [str(opt.DEFAULT_LEADERBOARD)])
    if x is not None and x not in X_COLUMNS:
        raise UsageError(f"--x {x!r} is not supported; use --x steps.")
    if x is not None and plot is None:
        raise UsageError("--x draws a figure: add --plot FILE.png.")
    if correlations and variance:
        raise UsageError("--correlations and --variance are separate tables: run one at a time.")
    if (correlations or variance) and x is not None:
        raise UsageError("--x plots scores over steps; it does not combine with --correlations or --variance.")
    if variance and plot is not None:
        raise UsageError("--variance writes a table only; drop --plot.")
    if runs_dir is not None and html is None:
        raise UsageError("--runs-dir tells --html where the runs' figures are: add --html FILE.html.")
    if html is not None:
        given = [name for name, value in (("--out", out), ("--plot", plot), ("--x", x), ("--correlations", correlations), ("--variance", variance)) if value]
        if given:
            raise UsageError(f"--html writes the whole report (table, figures, study) to one page; drop {', '.join(given)}.")
    if plot is not None:
        from disbench.figures.plots import figure_format

        figure_format(plot)  # refuse a bad extension before any work
    if claims is not None:
        if correlations or variance or plot is not None:
            raise UsageError("--claims prints the claims table alone; drop --correlations, --variance and --plot.")
        _claims(claims, sources, fmt, out)
        return
    selection = Selection(sources, method, dataset, metric, space, factor or ["all"])
    if html is not None:
        _html(selection, html, runs_dir or opt.DEFAULT_RUNS_DIR)
        return
    if correlations or variance:
        _study(selection, correlations, fmt, out, plot if correlations else None, leaderboard_paths(sources))
        return
    table = build_report(sources, method, dataset, metric, space, factor or "all")
    emit(table, fmt, out)
    if plot is None:
        return
    if x == "steps":
        from disbench.report.plots import plot_steps
        from disbench.report.rows import selected_rows

        selection.all_steps = True
        written = plot_steps(selected_rows(selection), plot)
    else:
        from disbench.report.plots import plot_report

        written = plot_report(table, plot)
    for path in written:
        info(f"wrote {path}")


def _html(selection, path: Path, runs_dir: Path) -> None:
    import time

    from disbench.report.html import write_html_report

    started = time.perf_counter()
    write_html_report(selection, path, runs_dir, _command_line(selection, path, runs_dir))
    info(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)")


def _command_line(selection, path: Path, runs_dir: Path) -> str:
    """The `disbench report --html` command that makes this page again (options in their long form)."""
    import shlex

    words = ["disbench", "report"]
    for option, values in (
        ("--leaderboard", selection.leaderboards), ("--method", selection.methods), ("--dataset", selection.datasets),
        ("--metric", selection.metrics), ("--space", selection.spaces),
        ("--factor", None if list(selection.factors) == ["all"] else selection.factors),
    ):
        for value in values or []:
            words += [option, str(value)]
    if runs_dir != opt.DEFAULT_RUNS_DIR:
        words += ["--runs-dir", str(runs_dir)]
    return shlex.join([*words, "--html", str(path)])


def _study(selection, correlations: bool, fmt: str, out: Path | None, plot: Path | None, paths: list[Path]) -> None:
    from disbench.report import study
    from disbench.report.rendering import render_rows

    if correlations:
        result = study.metric_correlations(selection)
        emit_text(render_rows(*study.correlation_rows(result), fmt), out)
        from disbench.report.plots import plot_correlations

        heatmap = plot or _default_heatmap(paths)
        plot_correlations(result, heatmap)
        info(f"wrote {heatmap}")
    else:
        emit_text(render_rows(*study.variance_rows(study.variance_shares(selection)), fmt), out)


def _claims(suite_name: str, sources: list[str], fmt: str, out: Path | None) -> None:
    from disbench.suites.suite_file import load_suite
    from disbench.report.claims import check_claims, claim_rows
    from disbench.report.leaderboards import load_leaderboards
    from disbench.report.rendering import render_rows

    suite = load_suite(suite_name)
    if not suite.claims:
        raise UsageError(f"suite {suite.name!r} states no claims (a `claims:` section); see suites/claims-cpu.yaml.")
    results = check_claims(load_leaderboards(sources), suite.claims)
    emit_text(render_rows(*claim_rows(results), fmt), out)
    judged = [r for r in results if r.holds is not None]
    info(f"{sum(r.holds for r in judged)} of {len(results)} claims hold ({len(results) - len(judged)} not run)")
