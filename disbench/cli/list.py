"""`disbench list`: registered methods, datasets, metrics and suites."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from disbench.cli.output import handle_errors, info, stdout
from disbench.errors import UsageError

KINDS = ("methods", "datasets", "metrics", "suites")
LIST_FORMATS = ("table", "csv", "json", "md")


def _entries(kind: str, pattern: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    """Column names and one record per registered name matching ``pattern``."""
    if kind == "methods":
        from disbench.methods import METHODS

        records = [
            {"method": n, "trained": "yes" if METHODS.get(n).trainable else "no", "description": METHODS.get(n).summary}
            for n in METHODS.names(pattern)
        ]
        return ["method", "trained", "description"], records
    if kind == "datasets":
        from disbench.datasets import DATASETS

        return ["dataset", "description"], [{"dataset": n, "description": DATASETS.get(n).summary} for n in DATASETS.names(pattern)]
    if kind == "metrics":
        from disbench.metrics.selection import metric_registry

        registry = metric_registry()
        records = []
        for name in registry.names(pattern):
            entry = registry.get(name)
            low, high = entry.value_range
            records.append(
                {"metric": name, "needs": entry.needs, "range": f"[{low:g}, {high:g}]",
                 "direction": "higher is better" if entry.higher_is_better else "lower is better", "reference": entry.reference}
            )
        return ["metric", "needs", "range", "direction", "reference"], records
    from disbench.suites.suite_file import load_suite, suite_names
    from disbench.registry import matching

    records = []
    for name in matching(suite_names(), pattern):
        suite = load_suite(name)
        records.append({"suite": name, "runs": len(suite.runs), "description": " ".join(suite.description.split())})
    return ["suite", "runs", "description"], records


@handle_errors
def list_command(
    kind: Annotated[str, typer.Argument(help="methods, datasets, metrics or suites.")],
    pattern: Annotated[
        Optional[str], typer.Argument(help="Only names containing this pattern; * ? [] are wildcards ('vae', 'vae*', 'beta-*').")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or md.")] = "table",
) -> None:
    """List what is registered, with a one-line description of each.

    On a pipe the table has no header and one line per name, so `disbench list methods | awk
    '{print $1}'` gives the names. A pattern matches anywhere in a name; one that matches
    nothing prints nothing and says so on stderr (exit 0).
    """
    if kind not in KINDS:
        from disbench.registry import unknown_name_message

        raise UsageError(unknown_name_message("kind", kind, list(KINDS)).replace("kind", "list kind", 1))
    if fmt not in LIST_FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; use one of {', '.join(LIST_FORMATS)}.")
    headers, records = _entries(kind, pattern)
    if not records:
        info(f"no {kind} match {pattern!r} (a pattern matches anywhere in a name; * ? [] are wildcards); see `disbench list {kind}`.")
    rows = [[" ".join(str(r[h]).split()) for h in headers] for r in records]
    if fmt == "table" and stdout.is_terminal:
        from rich.markup import escape
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*(escape(c) for c in row))
        stdout.print(table)
        return
    from disbench.report.rendering import render_rows

    typer.echo(render_rows(headers, rows, records, fmt, header=False), nl=False)
