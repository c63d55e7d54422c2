"""Reports: long leaderboards pivoted into entry x (dataset, metric) tables of mean ± std over seeds.

The pipeline, a module a step:

- :mod:`~disbench.report.leaderboards`: leaderboards read and merged, each score once;
- :mod:`~disbench.report.naming`: which runs pool into one entry (a table row) and the
  entry's name; the columns' metric labels;
- :mod:`~disbench.report.rows`: the rows a report pools (filters, latest checkpoint,
  headline space), each with its ``entry`` and ``column``;
- :mod:`~disbench.report.pooling`: mean ± std over seeds per cell, best per column;
- :mod:`~disbench.report.rendering`: the table as text, Markdown, CSV, LaTeX or JSON;
- :mod:`~disbench.report.plots`: the table and its checkpoints as figures;
- :mod:`~disbench.report.study`, :mod:`~disbench.report.claims`, :mod:`~disbench.report.html`:
  correlations and variance across runs, a suite's claims, the one-page report.
"""

from disbench.report.leaderboards import latest_checkpoints, leaderboard_paths, load_leaderboards, protocol_text
from disbench.report.naming import assign_entries, column_labels, flat_hyperparameters, parameter_note, short_value
from disbench.report.pooling import REFERENCE_METHODS, Cell, ReportTable, build_report, pooled, table_of_rows
from disbench.report.rendering import FORMATS, latex_escape, render, render_rows
from disbench.report.rows import Selection, headline_rows, selected_rows

__all__ = [
    "FORMATS", "REFERENCE_METHODS", "Cell", "ReportTable", "Selection", "assign_entries", "build_report",
    "column_labels", "flat_hyperparameters", "headline_rows", "latest_checkpoints", "latex_escape", "leaderboard_paths",
    "load_leaderboards", "parameter_note", "pooled", "protocol_text", "render", "render_rows", "selected_rows",
    "short_value", "table_of_rows",
]
