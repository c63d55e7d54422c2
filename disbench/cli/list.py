"""`disbench list`: registered methods, datasets, metrics and suites."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from disbench.cli.output import handle_errors, stdout
from disbench.errors import UsageError

KINDS = ("methods", "datasets", "metrics", "suites")


@handle_errors
def list_command(
    kind: Annotated[str, typer.Argument(help="methods, datasets, metrics or suites.")],
    pattern: Annotated[Optional[str], typer.Argument(help="Only names matching this wildcard (e.g. 'vae*').")] = None,
) -> None:
    """List what is registered, with a one-line description of each."""
    from rich.markup import escape
    from rich.table import Table

    if kind not in KINDS:
        from disbench.registry import unknown_name_message

        raise UsageError(unknown_name_message("kind", kind, list(KINDS)).replace("kind", "list kind", 1))
    table = Table(box=None, pad_edge=False)
    if kind == "methods":
        from disbench.methods import METHODS

        table.add_column("method")
        table.add_column("trained")
        table.add_column("description")
        for name in METHODS.names(pattern):
            cls = METHODS.get(name)
            table.add_row(name, "yes" if cls.trainable else "no", escape(cls.summary))
    elif kind == "datasets":
        from disbench.datasets import DATASETS

        table.add_column("dataset")
        table.add_column("description")
        for name in DATASETS.names(pattern):
            table.add_row(name, escape(DATASETS.get(name).summary))
    elif kind == "metrics":
        from disbench.metrics.selection import metric_registry

        registry = metric_registry()
        for column in ("metric", "needs", "range", "direction", "reference"):
            table.add_column(column)
        for name in registry.names(pattern):
            info = registry.get(name)
            low, high = info.value_range
            table.add_row(name, info.needs, f"[{low:g}, {high:g}]", "higher is better" if info.higher_is_better else "lower is better", escape(info.reference))
    else:
        from disbench.bench import load_suite, suite_names
        from disbench.registry import matching

        table.add_column("suite")
        table.add_column("runs", justify="right")
        table.add_column("description")
        for name in matching(suite_names(), pattern):
            suite = load_suite(name)
            table.add_row(name, str(len(suite.runs)), escape(" ".join(suite.description.split())))
    stdout.print(table)
