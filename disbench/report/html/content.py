"""What the page shows, aggregated from the report rows: the page holds summaries, never the raw rows.

Everything is computed once from one read of the leaderboards (:func:`page_rows`): the
table and the bar charts from each run's latest checkpoint, the compute curves from every
scored checkpoint, the correlations and variance shares per dataset by
:mod:`disbench.report.study`. Sizes grow with entries x columns (x checkpoints for curves), not
with leaderboard rows.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbench.errors import UsageError
from disbench.report.leaderboards import latest_checkpoints, leaderboard_paths
from disbench.report.pooling import REFERENCE_METHODS, ReportTable, pooled, table_of_rows
from disbench.report.rows import Selection, selected_rows

#: a bar chart shows at most this many entries (the best by mean, then the reference rows)
MAX_BARS = 40
#: a compute-curve panel draws at most this many entries (those with the best final mean)
MAX_CURVES = 20
#: an embedded PNG larger than this is scaled down until it fits
MAX_IMAGE_BYTES = 400_000
#: at most this many run folders' traversals and reconstructions (one run per entry, its lowest seed)
MAX_IMAGE_RUNS = 12
#: figure files beside a leaderboard that the page embeds
FIGURE_PATTERNS = ("traversals*.png", "reconstructions*.png")


def rounded(value: float) -> float | None:
    """A score with 6 significant digits (what a reader can use; keeps the page small); NaN as null."""
    value = float(value)
    return None if value != value else float(f"{value:.6g}")


def page_rows(selection: Selection):
    """Report rows of every scored checkpoint, and of each run's latest one.

    Raises:
        DisbenchError: missing or empty leaderboards, or no row matching the filters.
    """
    every_step = selected_rows(dataclasses.replace(selection, all_steps=True))
    return every_step, latest_checkpoints(every_step)


# --- the leaderboard table -------------------------------------------------------------------


def table_content(table: ReportTable, latest) -> dict[str, Any]:
    """Columns and rows of the leaderboard, each cell with its text, mean, best mark, spaces and seeds.

    A cell's seeds are the values it pools (one per seed, as :func:`disbench.report.pooling.pooled`
    counts them), with their run ids, for the hover text.
    """
    one_per_seed = latest.drop_duplicates(subset=["entry", "dataset", "column", "seed"], keep="last")
    seeds: dict[tuple[str, str, str], list] = {}
    spaces: dict[tuple[str, str, str], set] = {}
    for entry, dataset, column, seed, value, run_id, space in zip(
        one_per_seed["entry"], one_per_seed["dataset"], one_per_seed["column"], one_per_seed["seed"],
        one_per_seed["value"], one_per_seed["run_id"], one_per_seed["space"],
    ):
        key = (entry, dataset, column)
        seeds.setdefault(key, []).append([None if seed != seed else int(seed), rounded(value), run_id])
        spaces.setdefault(key, set()).add(space)
    columns = [
        {"dataset": dataset, "metric": metric, "higher": table.higher_is_better[(dataset, metric)], "header": table.header((dataset, metric))}
        for dataset, metric in table.columns
    ]
    rows = []
    for entry in table.entries:
        cells = []
        for dataset, metric in table.columns:
            cell = table.cells.get((entry, (dataset, metric)))
            key = (entry, dataset, metric)
            cells.append(
                None if cell is None else {
                    "text": cell.text(), "mean": rounded(cell.mean), "best": cell.best,
                    "spaces": sorted(spaces.get(key, ())), "seeds": sorted(seeds.get(key, []), key=lambda s: (s[0] is None, s[0])),
                }
            )
        rows.append({"entry": entry, "method": table.entry_method.get(entry, entry), "reference": table.is_reference(entry), "cells": cells})
    return {"columns": columns, "rows": rows}


# --- charts' data ------------------------------------------------------------------------------


@dataclass
class BarPanel:
    """One (dataset, metric): a bar per entry (mean, std, best, reference) and a point per seed."""

    dataset: str
    metric: str
    higher: bool
    bars: list[dict[str, Any]]
    seeds: list[dict[str, Any]]
    left_out: int  # entries with a score not drawn (beyond :data:`MAX_BARS`)


def bar_panels(table: ReportTable, table_rows: list[dict[str, Any]]) -> list[BarPanel]:
    """A panel per table column; a panel with more than :data:`MAX_BARS` entries keeps the best of them."""
    panels = []
    for index, (dataset, metric) in enumerate(table.columns):
        higher = table.higher_is_better[(dataset, metric)]
        scored = [(row, row["cells"][index]) for row in table_rows if row["cells"][index] is not None]
        contenders = sorted((p for p in scored if not p[0]["reference"]), key=lambda p: -p[1]["mean"] if higher else p[1]["mean"])
        kept = {row["entry"] for row, _ in contenders[:MAX_BARS]} | {row["entry"] for row, _ in scored if row["reference"]}
        bars, seeds = [], []
        for row, cell in scored:
            if row["entry"] not in kept:
                continue
            std = table.cells[(row["entry"], (dataset, metric))].std
            kind = "reference" if row["reference"] else "best" if cell["best"] else "entry"
            bars.append({"entry": row["entry"], "mean": cell["mean"], "std": rounded(std), "low": rounded(cell["mean"] - std),
                         "high": rounded(cell["mean"] + std), "n": len(cell["seeds"]), "kind": kind})
            seeds += [{"entry": row["entry"], "seed": seed, "value": value, "run": run} for seed, value, run in cell["seeds"]]
        panels.append(BarPanel(dataset, metric, higher, bars, seeds, max(0, len(contenders) - MAX_BARS)))
    return panels


@dataclass
class CurvePanel:
    """One (dataset, metric) over training steps: mean and std over seeds per entry and checkpoint."""

    dataset: str
    metric: str
    points: list[dict[str, Any]]
    log_steps: bool
    left_out: int  # entries not drawn (beyond :data:`MAX_CURVES`)


def curve_panels(every_step, table: ReportTable) -> list[CurvePanel]:
    """Panels for the (dataset, metric) columns where some entry was scored at two or more checkpoints.

    Reference rows (oracle, random) have no curve. The steps axis is logarithmic when the positive steps span a decade or more (as
    ``report --plot --x steps`` draws it). A panel with more than :data:`MAX_CURVES`
    entries keeps those with the best mean at their last checkpoint.
    """
    trained = every_step[~every_step["method"].isin(REFERENCE_METHODS)]  # bounds, not trained: no curve
    stats = pooled(trained, ["entry", "dataset", "column", "steps"])
    checkpoints = stats.groupby(["dataset", "column", "entry"])["steps"].nunique()
    panels = []
    for dataset, metric in table.columns:
        if (dataset, metric) not in checkpoints.index or checkpoints.loc[(dataset, metric)].max() < 2:
            continue
        higher = table.higher_is_better[(dataset, metric)]
        panel = stats[(stats["dataset"] == dataset) & (stats["column"] == metric)]
        final = panel.sort_values("steps").groupby("entry")["mean"].last()
        ranked = final.sort_values(ascending=not higher).index.tolist()
        kept = [e for e in table.entries if e in set(ranked[:MAX_CURVES])]
        panel = panel[panel["entry"].isin(kept)]
        steps = panel["steps"]
        log_steps = bool((steps > 0).all() and steps.max() / steps.min() >= 10)
        points = [
            {"entry": e, "steps": int(s), "mean": rounded(m), "low": rounded(m - sd), "high": rounded(m + sd), "std": rounded(sd), "n": int(n)}
            for e, s, m, sd, n in zip(panel["entry"], panel["steps"], panel["mean"], panel["std"], panel["count"])
        ]
        panels.append(CurvePanel(dataset, metric, points, log_steps, max(0, len(ranked) - MAX_CURVES)))
    return panels


@dataclass
class StudyPanels:
    """Correlations and variance shares of one dataset, or why the study has none."""

    dataset: str
    correlations: list[dict[str, Any]] = field(default_factory=list)
    correlation_metrics: list[str] = field(default_factory=list)
    n_runs: int = 0
    variance: list[dict[str, Any]] = field(default_factory=list)
    missing: str = ""


def study_panels(latest) -> list[StudyPanels]:
    """Per dataset: Spearman correlations between metrics and the method / hyperparameter / seed
    variance shares (:mod:`disbench.report.study`), where the dataset has the runs for them."""
    from disbench.report import study

    panels = []
    for dataset in sorted(latest["dataset"].unique()):
        panel = StudyPanels(dataset)
        try:
            rows, _ = study.study_rows(latest[latest["dataset"] == dataset])
        except UsageError as exc:
            panel.missing = str(exc)
            panels.append(panel)
            continue
        panel.n_runs = rows["run_id"].nunique()
        try:
            correlations = study.correlations_of_rows(rows, dataset)
            panel.correlations = study.correlation_rows(correlations)[2]
            panel.correlation_metrics = correlations.metrics
        except UsageError as exc:
            panel.missing = str(exc)
        if panel.n_runs >= 3:
            panel.variance = study.variance_rows(study.variance_shares_of_rows(rows))[2]
        panels.append(panel)
    return panels


# --- figures of runs -------------------------------------------------------------------------


@dataclass
class Figure:
    """A PNG to embed: its caption, where it came from and its bytes as a data URL."""

    caption: str
    source: str
    data_url: str
    scaled: bool


def png_data_url(path: Path, max_bytes: int = MAX_IMAGE_BYTES) -> tuple[str, bool]:
    """``path`` as a ``data:image/png;base64`` URL, scaled down (halving its pixels' count each time) to ``max_bytes``.

    Raises:
        DisbenchError: the file is not a readable PNG.
    """
    from PIL import Image, UnidentifiedImageError

    from disbench.errors import DisbenchError

    data = path.read_bytes()
    scaled = False
    if len(data) > max_bytes:
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                picture = image
                while len(data) > max_bytes and min(picture.size) > 16:
                    picture = picture.resize((max(1, int(picture.width / 1.414)), max(1, int(picture.height / 1.414))), Image.LANCZOS)
                    buffer = io.BytesIO()
                    picture.save(buffer, format="PNG", optimize=True)
                    data = buffer.getvalue()
                    scaled = True
        except (UnidentifiedImageError, OSError) as exc:
            raise DisbenchError(f"figure {str(path)!r} is not a readable PNG ({exc}); remove or regenerate it.") from None
    elif not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise DisbenchError(f"figure {str(path)!r} is not a PNG file; remove or regenerate it.")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), scaled


def run_figures(latest, entries: list[str], leaderboards: list[Path], runs_dir: Path | None) -> tuple[list[Figure], int]:
    """Traversals and reconstructions of the runs the page covers: from each entry's lowest-seed run
    folder under ``runs_dir`` (:data:`MAX_IMAGE_RUNS` runs at most), then the figure files
    beside each leaderboard (``traversals*.png``, ``reconstructions*.png``).

    Returns the figures and the number of runs whose figures were left out by the cap.
    """
    from disbench.figures.traversals import RECONSTRUCTIONS, TRAVERSALS

    figures: list[Figure] = []
    left_out = 0
    if runs_dir is not None and runs_dir.is_dir():
        runs = latest.sort_values("seed").drop_duplicates("entry")[["entry", "run_id", "seed"]]
        runs = runs.set_index("entry").reindex([e for e in entries if e in set(runs["entry"])])
        with_figures = [(entry, row.run_id, row.seed) for entry, row in runs.iterrows()
                        if any((runs_dir / row.run_id / name).is_file() for name in (TRAVERSALS, RECONSTRUCTIONS))]
        left_out = max(0, len(with_figures) - MAX_IMAGE_RUNS)
        for entry, run_id, seed in with_figures[:MAX_IMAGE_RUNS]:
            for name, what in ((TRAVERSALS, "latent traversals"), (RECONSTRUCTIONS, "reconstructions")):
                path = runs_dir / run_id / name
                if path.is_file():
                    url, scaled = png_data_url(path)
                    figures.append(Figure(f"{entry}, seed {int(seed)}: {what}", str(path), url, scaled))
    for folder in dict.fromkeys(p.parent for p in leaderboards):
        for pattern in FIGURE_PATTERNS:
            for path in sorted(folder.glob(pattern)):
                url, scaled = png_data_url(path)
                what = "latent traversals" if path.name.startswith("traversals") else "reconstructions"
                figures.append(Figure(f"{what} ({path.name})", str(path), url, scaled))
    return figures, left_out


# --- provenance --------------------------------------------------------------------------------


def _git_last_commit(path: Path) -> str:
    """``abc123def456 2026-12-02`` of the last commit that changed ``path``, or ``""`` outside git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(path.parent.resolve()), "log", "-1", "--format=%h %cs", "--abbrev=12", "--", path.name],
            capture_output=True, text=True, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _counts(frame, column: str) -> list[list[Any]]:
    """Each value of ``column`` with its number of runs."""
    if column not in frame.columns:
        return []
    per_run = frame.drop_duplicates("run_id")[column].fillna("").astype(str)
    return [[value or "(not recorded)", int(n)] for value, n in per_run.value_counts().items()]


def provenance(every_step, leaderboards: list[Path], command: str) -> dict[str, Any]:
    """What made the page and the runs it shows: disbench and library versions, commits, devices, data sources."""
    from datetime import datetime, timezone

    import disbench
    from disbench.provenance import install_description

    sources = []
    for dataset in sorted(every_step["dataset"].unique()):
        rows = every_step[every_step["dataset"] == dataset]
        sources += [[dataset, value, n] for value, n in _counts(rows, "data_source")]
    return {
        "page": {
            "command": command,
            "made": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "disbench": f"{disbench.__version__}, {install_description()}",
        },
        "leaderboards": [{"path": str(p), "commit": _git_last_commit(p)} for p in leaderboards],
        "runs": int(every_step["run_id"].nunique()),
        "disbench versions": _counts(every_step, "disbench_version"),
        "commits": _counts(every_step, "commit"),
        "torch versions": _counts(every_step, "torch_version"),
        "python versions": _counts(every_step, "python_version"),
        "devices": _counts(every_step, "device"),
        "data sources": sources,
    }


@dataclass
class PageContent:
    """Everything the page shows."""

    title: str
    table: dict[str, Any]
    bars: list[BarPanel]
    curves: list[CurvePanel]
    studies: list[StudyPanels]
    figures: list[Figure]
    figures_left_out: int
    provenance: dict[str, Any]


def page_content(selection: Selection, runs_dir: Path | None, command: str, title: str = "") -> PageContent:
    """Read the leaderboards once and aggregate everything the page shows."""
    every_step, latest = page_rows(selection)
    paths = leaderboard_paths(selection.leaderboards)
    table = table_of_rows(latest)
    table_data = table_content(table, latest)
    figures, left_out = run_figures(latest, table.entries, paths, runs_dir)
    return PageContent(
        title=title or ", ".join(str(p.parent if p.name == "leaderboard.csv" else p) for p in paths),
        table=table_data,
        bars=bar_panels(table, table_data["rows"]),
        curves=curve_panels(every_step, table),
        studies=study_panels(latest),
        figures=figures,
        figures_left_out=left_out,
        provenance=provenance(every_step, paths, command),
    )


def as_json(data: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</`` can close it early)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
