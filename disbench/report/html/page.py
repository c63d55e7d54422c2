"""The page itself: one HTML file with its styles, its data, its script and the plotting library inlined.

Nothing is loaded from elsewhere when the page opens (no script, style, font or image
address), so it reads offline. The plotting library is Vega-Lite with Vega and
vega-embed, as the ``vl-convert-python`` package bundles them (BSD-3-Clause, their notice
is in the page's footer); the table is the page's own small script (``page.js``).
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from pathlib import Path
from typing import Any

from disbench.errors import UsageError
from disbench.report.html import charts
from disbench.report.html.content import PageContent, as_json

INSTALL_HINT = "pip install 'disbench[html]'"


@functools.lru_cache(maxsize=1)
def plot_library() -> tuple[str, str]:
    """The script that defines ``vegaEmbed``, and a line naming its libraries and versions (bundled once a process).

    Raises:
        UsageError: ``vl-convert-python`` is not installed (the line says what to install).
    """
    try:
        import vl_convert
    except ImportError:
        raise UsageError(f"--html draws its charts with Vega-Lite from the vl-convert-python package, which is not installed: {INSTALL_HINT}.") from None
    names = (
        f"Vega {vl_convert.get_vega_version()}, Vega-Lite {vl_convert.get_vegalite_versions()[-1]}, "
        f"vega-embed {vl_convert.get_vega_embed_version()}"
    )
    return vl_convert.javascript_bundle(), names


def _script_safe(script: str) -> str:
    """``script`` that cannot end its ``<script>`` element early (``</script`` written as ``<\\/script``)."""
    import re

    return re.sub(r"</(script)", r"<\\/\1", script, flags=re.IGNORECASE)


def _static(name: str) -> str:
    return resources.files("disbench.report.html").joinpath(name).read_text(encoding="utf-8")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _grid_section(key: str, title: str, note: str, panels: list[str]) -> str:
    return f'<section id="{key}"><h2>{_e(title)}</h2><p class="note">{_e(note)}</p><div class="grid">{"".join(panels)}</div></section>'


def _capped(left_out: int) -> str:
    return f" ({left_out} more entries not drawn: filter the report to see them)" if left_out else ""


def _provenance_html(data: dict[str, Any], library: str) -> str:
    def counted(pairs: list[list[Any]]) -> str:
        return "; ".join(f"{_e(value)} ({n} run{'s' if n != 1 else ''})" for value, n in pairs) or "not recorded"

    page = data["page"]
    rows = [
        ("made by", f"<code>{_e(page['command'])}</code>"),
        ("made on", _e(page["made"])),
        ("disbench", _e(page["disbench"])),
        ("leaderboards", "<br>".join(
            f"<code>{_e(lb['path'])}</code>" + (f" (last commit {_e(lb['commit'])})" if lb["commit"] else "") for lb in data["leaderboards"]
        )),
        ("runs", str(data["runs"])),
        ("disbench of the runs", counted(data["disbench versions"])),
    ]
    if data["commits"]:
        rows.append(("commits of the runs", counted(data["commits"])))
    rows += [
        ("torch", counted(data["torch versions"])),
        ("python", counted(data["python versions"])),
        ("devices", counted(data["devices"])),
        ("data sources", "; ".join(f"{_e(d)}: {_e(s)} ({n} run{'s' if n != 1 else ''})" for d, s, n in data["data sources"]) or "not recorded"),
        ("charts", _e(library)),
    ]
    body = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return f'<table class="provenance">{body}</table>'


def render_page(content: PageContent, library_script: str, library: str) -> str:
    """The whole page as one HTML string."""
    specs: list[dict[str, Any]] = []

    def panel(kind: str, dataset: str, metric: str, spec: dict[str, Any], caption: str) -> str:
        """A captioned chart; the dataset and metric filters of the table hide it (an empty metric: only the dataset's)."""
        specs.append({"kind": kind, "dataset": dataset, "metric": metric, "spec": spec})
        return (
            f'<figure class="panel" data-dataset="{_e(dataset)}" data-metric="{_e(metric)}">'
            f'<figcaption>{_e(caption)}</figcaption><div class="chart" data-chart="{len(specs) - 1}"></div></figure>'
        )

    table = content.table
    n_entries, n_columns = len(table["rows"]), len(table["columns"])
    datasets = list(dict.fromkeys(c["dataset"] for c in table["columns"]))
    sections = []
    nav = [("leaderboard", "Leaderboard"), ("bars", "Scores")]

    sections.append(
        '<section id="leaderboard"><h2>Leaderboard</h2>'
        "<p class=\"note\">Mean ± std over seeds (number of seeds); the best non-reference mean of each column is "
        "<span class=\"best\">marked</span>; reference rows (oracle, random) in grey. Hover a cell for its seeds; "
        "click a header to sort.</p>"
        '<div class="filters">'
        '<label>entry <input id="filter-entry" type="search" placeholder="name contains"></label>'
        '<label>method <select id="filter-method"></select></label>'
        '<label>dataset <select id="filter-dataset"></select></label>'
        '<label>metric <input id="filter-metric" type="search" placeholder="name contains"></label>'
        '<label>space <select id="filter-space"></select></label>'
        '<span id="shown" class="note"></span></div>'
        '<div class="scroll"><table id="leaderboard-table"><thead></thead><tbody></tbody></table></div></section>'
    )

    bars = [
        panel("bars", p.dataset, p.metric, charts.bar_chart(p), f"{p.dataset} / {p.metric} {'↑' if p.higher else '↓'}" + _capped(p.left_out))
        for p in content.bars
    ]
    sections.append(_grid_section("bars", "Scores", "Bars: mean over seeds (green: best, grey: reference); line: ± one std; "
                                  "dots: each seed (hover for its run).", bars))
    if content.curves:
        nav.append(("curves", "Over training"))
        curves = [panel("curves", p.dataset, p.metric, charts.curve_chart(p), f"{p.dataset} / {p.metric}" + _capped(p.left_out)) for p in content.curves]
        sections.append(_grid_section("curves", "Over training", "Mean ± std over seeds at each scored checkpoint.", curves))

    study_parts = []
    for study in content.studies:
        parts = []
        if study.correlations:
            parts.append(panel("correlations", study.dataset, "", charts.correlation_chart(study),
                               f"{study.dataset}: Spearman correlation of the metrics across {study.n_runs} runs"))
        if study.variance:
            parts.append(panel("variance", study.dataset, "", charts.variance_chart(study),
                               f"{study.dataset}: share of each metric's variance by method, hyperparameters, seed"))
        note = f'<p class="note">{_e(study.dataset)}: {_e(study.missing)}</p>' if study.missing else ""
        if parts or note:
            study_parts.append(note + f'<div class="grid">{"".join(parts)}</div>')
    if study_parts:
        nav.append(("study", "Study"))
        sections.append(
            '<section id="study"><h2>Study</h2><p class="note">One value per run (its latest checkpoint), reference methods left out '
            "(<code>disbench report --correlations</code>, <code>--variance</code>; see docs/reports.md).</p>"
            + "".join(study_parts) + "</section>"
        )

    if content.figures:
        nav.append(("figures", "Traversals"))
        items = "".join(
            f'<figure class="image"><figcaption>{_e(f.caption)}{" (scaled down)" if f.scaled else ""}</figcaption>'
            f'<img alt="{_e(f.caption)}" src="{f.data_url}" title="{_e(f.source)}"></figure>'
            for f in content.figures
        )
        more = f'<p class="note">{content.figures_left_out} more runs have figures; narrow the report to see them.</p>' if content.figures_left_out else ""
        sections.append(f'<section id="figures"><h2>Traversals and reconstructions</h2>{more}<div class="images">{items}</div></section>')

    nav.append(("provenance", "Provenance"))
    sections.append(f'<section id="provenance"><h2>Provenance</h2>{_provenance_html(content.provenance, library)}</section>')

    data = {"table": table, "charts": specs}
    summary = (
        f"{content.provenance['runs']} runs, {n_entries} entries, {n_columns} columns"
        f" ({', '.join(datasets)})"
    )
    links = " · ".join(f'<a href="#{key}">{name}</a>' for key, name in nav)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(content.title)}: disbench report</title><style>{_static('page.css')}</style></head><body>"
        f"<header><h1>{_e(content.title)}</h1><p class=\"note\">{_e(summary)}</p><nav>{links}</nav></header>"
        f"<main>{''.join(sections)}</main>"
        f"<footer>Made with disbench. Charts: {_e(library)} (BSD-3-Clause, Copyright the University of Washington Interactive Data Lab), "
        "inlined in this file.</footer>"
        f'<script type="application/json" id="report-data">{as_json(data)}</script>'
        f"<script>{_script_safe(library_script)}</script>"
        f"<script>{_static('page.js')}</script>"
        "</body></html>\n"
    )


def write_html_report(selection, path: str | Path, runs_dir: Path | None = None, command: str = "", title: str = "") -> Path:
    """Write the page for ``selection`` to ``path`` (atomically) and return the path.

    Raises:
        UsageError: the plotting library is missing, or ``path`` is not an ``.html`` file name.
        DisbenchError: missing or empty leaderboards, nothing matching the filters, an unreadable figure.
    """
    from disbench.store.atomic import write_text
    from disbench.report.html.content import page_content

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--html {str(path)!r}: give a file name ending in .html.")
    library_script, library = plot_library()  # before any work: a missing package is said at once
    content = page_content(selection, runs_dir, command, title)
    write_text(path, render_page(content, library_script, library))
    return path
