"""Text forms of report tables: aligned text, Markdown, CSV, LaTeX and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from disbench.errors import UsageError
from disbench.report.pooling import Cell, ReportTable

FORMATS = ("table", "md", "csv", "latex", "json")

LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "–": "--",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """``text`` safe inside a LaTeX tabular cell (every special character replaced)."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def aligned_text(headers: list[str], rows: list[list[str]], header: bool = True) -> str:
    """Plain columns padded with spaces, one line per row, never truncated or wrapped."""
    lines = ([headers] if header else []) + rows
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() + "\n" for line in lines)


def markdown_text(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def records_text(records: list[dict[str, Any]], fmt: str, columns: list[str] | None = None) -> str:
    """Records as ``json`` (a list of objects) or ``csv`` (a header line, then one row each)."""
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    import pandas as pd

    return pd.DataFrame(records, columns=columns).to_csv(index=False)


def latex_table(headers: list[str], rows: list[list[str]], align: str = "r", rule_before: int | None = None, escape: bool = True) -> str:
    """A booktabs tabular: ``headers`` escaped; ``rows`` escaped too unless they are LaTeX already
    (``escape=False``); a rule before row ``rule_before`` sets a group apart; ``align`` aligns every column but the first."""
    lines = [f"\\begin{{tabular}}{{l{align * (len(headers) - 1)}}}", "\\toprule"]
    lines.append(" & ".join(latex_escape(h) for h in headers) + " \\\\")
    lines.append("\\midrule")
    for number, row in enumerate(rows):
        if number == rule_before and number > 0:
            lines.append("\\midrule")
        lines.append(" & ".join(latex_escape(c) if escape else c for c in row) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def render_rows(headers: list[str], rows: list[list[str]], records: list[dict[str, Any]], fmt: str, header: bool = True) -> str:
    """A plain table in ``fmt``: text forms from the formatted ``rows``, csv/json from the typed ``records``."""
    if fmt == "table":
        return aligned_text(headers, rows, header=header)
    if fmt == "md":
        return markdown_text(headers, rows)
    if fmt == "latex":
        return latex_table(headers, rows)
    if fmt in ("csv", "json"):
        return records_text(records, fmt, list(records[0]) if records else headers)
    raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")


@dataclass(frozen=True)
class TextMarks:
    """How a text form writes a report table's cells: a reference entry's name, the best cell, escaping."""

    #: a reference entry's name, ``{}`` its (escaped) name
    reference: str
    #: before and after the best cell of a column
    best: tuple[str, str]
    escape: Callable[[str], str] = str

    def name(self, entry: str, is_reference: bool) -> str:
        return self.reference.format(self.escape(entry)) if is_reference else self.escape(entry)

    def cell(self, cell: Cell | None) -> str:
        if cell is None:
            return self.escape("–")
        text = self.escape(cell.text())
        return f"{self.best[0]}{text}{self.best[1]}" if cell.best else text


#: the text forms of a report table: plain text marks the best cell ``*``, Markdown and LaTeX in bold
TEXT_MARKS = {
    "table": TextMarks("{} (reference)", ("", " *")),
    "md": TextMarks("*{}* (reference)", ("**", "**")),
    "latex": TextMarks("\\textit{{{}}} (reference)", ("\\textbf{", "}"), latex_escape),
}
RECORD_COLUMNS = ["method", "dataset", "metric", "mean", "std", "n_seeds", "higher_is_better", "best", "entry", "protocol"]


def table_grid(table: ReportTable) -> list[tuple[str, list[Cell | None]]]:
    """Each entry with its cell in each column (None where it has no score): what every format writes."""
    return [(entry, [table.cells.get((entry, column)) for column in table.columns]) for entry in table.entries]


def table_records(table: ReportTable, grid: list[tuple[str, list[Cell | None]]]) -> list[dict[str, Any]]:
    """One typed record per scored cell of ``grid``, entries in order, columns in order."""
    return [
        {
            "method": table.entry_method.get(entry, entry),
            "dataset": column[0],
            "metric": column[1],
            "mean": cell.mean,
            "std": cell.std,
            "n_seeds": cell.n,
            "higher_is_better": table.higher_is_better[column],
            "best": cell.best,
            "entry": entry,
            "protocol": table.protocols.get(column, ""),
        }
        for entry, cells in grid
        for column, cell in zip(table.columns, cells)
        if cell is not None
    ]


def render(table: ReportTable, fmt: str) -> str:
    """The table as ``table`` (plain aligned text, best marked ``*``), ``md``, ``csv``, ``latex`` or ``json``.

    Every format writes the same grid (:func:`table_grid`): csv and json as typed records, the
    text forms with their own marks (:data:`TEXT_MARKS`); in LaTeX a rule sets the reference rows apart.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    grid = table_grid(table)
    if fmt in ("csv", "json"):
        return records_text(table_records(table, grid), fmt, RECORD_COLUMNS)
    marks = TEXT_MARKS[fmt]
    headers = ["method", *(table.header(column) for column in table.columns)]
    rows = [[marks.name(entry, table.is_reference(entry)), *(marks.cell(cell) for cell in cells)] for entry, cells in grid]
    if fmt == "table":
        return aligned_text(headers, rows)
    if fmt == "md":
        return markdown_text(headers, rows)
    first_reference = next((number for number, (entry, _) in enumerate(grid) if table.is_reference(entry)), None)
    return latex_table(headers, rows, align="c", rule_before=first_reference, escape=False)
