"""`report` and `list` output: stdout is data in every format, LaTeX escapes, figures are clean."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
from leaderboards import scored, write_leaderboard

from disbench.report.pooling import build_report
from disbench.report.rendering import latex_escape, render

LONG = "multispace-with-a-very-long-configuration_name & 100% #1"


@pytest.fixture
def long_names(tmp_path):
    records = []
    for label in ("", LONG):
        for seed in (0, 1):
            for metric in ("mig", "dci.disentanglement"):
                records.append(scored("multispace", seed, 0.2 + 0.1 * seed + (0.3 if label else 0), {"lr": 1e-3 if label else 1e-4}, label=label, metric=metric))
    records.append(scored("oracle", 0, 0.95))
    return write_leaderboard(tmp_path / "lb.csv", records)


class Piped:
    def __init__(self, result):
        self.returncode, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr


def run_piped(*args):
    """The CLI in-process with stdout captured (not a terminal) and a 40-column terminal width."""
    from typer.testing import CliRunner

    from disbench.cli import app

    return Piped(CliRunner().invoke(app, list(args), env={"COLUMNS": "40"}, catch_exceptions=False))


@pytest.mark.slow  # a fresh interpreter imports torch: ~20 s on a loaded 2-core machine
def test_list_methods_through_a_real_pipe_gives_the_names():
    """`disbench list methods | awk '{print $1}'`."""
    env = {"COLUMNS": "40", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    listing = subprocess.run([sys.executable, "-m", "disbench", "list", "methods"], capture_output=True, text=True, env=env, check=True)
    names = subprocess.run(["awk", "{print $1}"], input=listing.stdout, capture_output=True, text=True, check=True).stdout.split()
    from disbench.methods import METHODS

    assert names == list(METHODS.names())


def test_piped_tables_are_never_truncated_or_wrapped(long_names):
    result = run_piped("report", "--leaderboard", str(long_names))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "…" not in result.stdout and len(lines) == 4  # header + 2 entries + oracle, one line each
    assert lines[2].startswith(f"multispace ({LONG})") and "0.550 ± 0.071 (2) *" in lines[2]


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_machine_formats_are_never_wrapped(long_names, fmt):
    result = run_piped("report", "--leaderboard", str(long_names), "--format", fmt)
    assert result.returncode == 0, result.stderr
    if fmt == "json":
        records = json.loads(result.stdout)
        assert {r["entry"] for r in records} == {"multispace", f"multispace ({LONG})", "oracle"}
    elif fmt == "csv":
        assert len(result.stdout.splitlines()) == 1 + 2 * 2 * 1 + 1 + 0  # header, 2 entries x 2 metrics, oracle
    else:
        assert all(line.startswith("|") for line in result.stdout.splitlines())


def test_list_pipes_names_and_matches_patterns_anywhere():
    names = run_piped("list", "methods")
    assert names.returncode == 0
    first_words = [line.split()[0] for line in names.stdout.splitlines()]
    assert "beta-vae" in first_words and "method" not in first_words and "…" not in names.stdout
    for pattern in ("vae*", "*vae*", "vae"):
        found = run_piped("list", "methods", pattern, "--format", "csv").stdout.splitlines()
        assert found[0] == "method,trained,description"
        assert {line.split(",")[0] for line in found[1:]} >= {"beta-vae", "factor-vae", "dip-vae-i"}
    nothing = run_piped("list", "methods", "zzz*")
    assert nothing.returncode == 0 and nothing.stdout == "" and "no methods match 'zzz*'" in nothing.stderr
    metrics = json.loads(run_piped("list", "metrics", "--format", "json").stdout)
    assert any(m["metric"] == "mig" and m["direction"] == "higher is better" for m in metrics)


def test_a_terminal_table_folds_long_cells_instead_of_cutting_them(long_names, monkeypatch):
    from rich.console import Console

    import importlib

    report_cli = importlib.import_module("disbench.cli.report")

    console = Console(width=40, force_terminal=True, record=True, soft_wrap=True)
    monkeypatch.setattr(report_cli, "stdout", console)
    report_cli.emit(build_report(long_names), "table", None)
    text = console.export_text()
    assert "…" not in text and "100%" in text


def test_latex_escapes_every_cell(long_names):
    latex = render(build_report(long_names), "latex")
    assert latex_escape(LONG) == r"multispace-with-a-very-long-configuration\_name \& 100\% \#1"
    assert r"multispace (multispace-with-a-very-long-configuration\_name \& 100\% \#1)" in latex
    assert r"\textbf{0.550 $\pm$ 0.071 (2)}" in latex and r"$\uparrow$" in latex
    assert r"\textit{oracle} (reference)" in latex and latex.count(r"\midrule") == 2  # a rule sets the references apart
    for line in latex.splitlines()[2:-2]:
        if line != r"\midrule":
            cells = line.removesuffix(r" \\").split(" & ")
            assert len(cells) == 3  # method + 2 columns: no unescaped & split a cell
            bare = line.replace(r"\%", "").replace(r"\#", "").replace(r"\_", "")
            assert not any(ch in bare for ch in "%#_±↑↓–")


def _title_boxes(fig):
    renderer = fig.canvas.get_renderer()
    texts = [ax.title for ax in fig.axes if ax.get_title()] + ([fig._suptitle] if fig._suptitle else [])
    return [t.get_window_extent(renderer) for t in texts]


def test_report_figure_titles_fit_and_metrics_share_x(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from disbench.report import plots

    records = []
    for dataset in ("dsprites", "shapes3d-with-a-long-dataset-name"):
        for seed in (0, 1):
            records.append(scored("beta-vae", seed, 0.1 + 0.1 * seed, {"beta": 4.0}, dataset=dataset, metric="dci.disentanglement_completeness_x"))
            records.append(scored("beta-vae", seed, 0.2 if dataset == "dsprites" else 0.8, {"beta": 4.0}, dataset=dataset, metric="mig"))
            records.append(scored("factor-vae", seed, 0.3, {"gamma": 10.0}, dataset=dataset, metric="mig"))
    table = build_report(write_leaderboard(tmp_path / "lb.csv", records))
    kept = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: kept.append(fig) or path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = plots.plot_report(table, tmp_path / "r.png")
        for fig in kept:
            fig.canvas.draw()
    assert [p.name for p in written] == ["r_dsprites.png", "r_shapes3d-with-a-long-dataset-name.png"]  # a file per dataset
    for fig in kept:
        boxes = _title_boxes(fig)
        width, height = fig.canvas.get_width_height()
        for i, box in enumerate(boxes):
            assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height  # not clipped
            assert not any(box.overlaps(other) for other in boxes[i + 1:])  # no two titles overlap
    mig_axes = [ax for fig in kept for ax in fig.axes if ax.get_title().startswith("mig")]
    assert len(mig_axes) == 2 and mig_axes[0].get_xlim() == mig_axes[1].get_xlim()  # the files compare
    for ax in (ax for fig in kept for ax in fig.axes):  # the shared range holds every bar of every panel
        assert all(bar.get_x() + bar.get_width() <= ax.get_xlim()[1] for bar in ax.patches)


def test_report_figures_of_a_quick_suite_leaderboard_are_screen_sized_and_labelled(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.image import imread

    from disbench.report import plots

    # the quick suite's shape: 13 methods on one dataset, one method alone on each of two others
    methods = ["oracle", "random", "pca", "ica", "beta-vae", "annealed-vae", "beta-tcvae", "dip-vae-i", "dip-vae-ii",
               "factor-vae", "multispace", "simclr", "vicreg"]
    records = [scored(m, s, 0.05 * i + 0.02 * s, metric=metric)
               for i, m in enumerate(methods) for s in (0, 1) for metric in ("mig", "sap", "r2.kernel", "r2.linear")]
    records += [scored("pretrained", s, 0.4, dataset="dsprites", metric=metric) for s in (0, 1) for metric in ("mig", "sap")]
    records += [scored("geomancer", s, 0.3, dataset="product-manifold", metric=f"subspace-angle{part}", higher=False)
                for s in (0, 1) for part in ("", ".lenient", ".std", ".unaligned", ".right_count")]
    table = build_report(write_leaderboard(tmp_path / "lb.csv", records))
    kept = []
    original = plots.save_figure
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.save_figure = lambda fig, path: kept.append(fig) or original(fig, path)
        try:
            written = plots.plot_report(table, tmp_path / "quick.png")
        finally:
            plots.save_figure = original
    assert sorted(p.name for p in written) == ["quick_dsprites.png", "quick_product-manifold.png", "quick_synthetic.png"]
    for path in written:
        height, width = imread(path).shape[:2]
        assert width <= 1800 and height <= 1100, (path.name, width, height)  # fits a screen at 100%
    synthetic = kept[[p.name for p in written].index("quick_synthetic.png")]
    panel = next(ax for ax in synthetic.axes if ax.get_title().startswith("mig"))
    assert len(panel.patches) == len(methods)  # only this dataset's entries: no empty rows
    assert sum(text.get_text().strip() == "0.160" for text in panel.texts) == 1  # values written in (i=3: 0.15 and 0.17)
    alone = kept[[p.name for p in written].index("quick_dsprites.png")]
    assert all(len(ax.patches) == 1 for ax in alone.axes if ax.get_title())
    from disbench.report.rows import Selection, selected_rows

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves = plots.plot_steps(selected_rows(Selection(tmp_path / "lb.csv", all_steps=True)), tmp_path / "steps.png")
    assert sorted(p.name for p in curves) == ["steps_dsprites.png", "steps_product-manifold.png", "steps_synthetic.png"]
    for path in curves:
        height, width = imread(path).shape[:2]
        assert width <= 1800 and height <= 1100, (path.name, width, height)


def test_a_report_of_many_metrics_continues_in_further_files(tmp_path):
    from disbench.report.plots import PANELS_PER_FILE, figure_pages

    columns = [("dsprites", f"metric{i:02d}") for i in range(PANELS_PER_FILE + 3)]
    pages = figure_pages(columns, tmp_path / "r.png")
    assert [(p.name, len(c)) for p, _, c in pages] == [("r_dsprites.png", PANELS_PER_FILE), ("r_dsprites_part2.png", 3)]
    assert [p.name for p, _, _ in figure_pages(columns[:2], tmp_path / "r.png")] == ["r.png"]  # one file: the name given


def test_figures_follow_their_extension(cli, long_names):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli("report", "--leaderboard", str(long_names), "--plot", "r.svg").exit_code == 0
        assert cli("report", "--leaderboard", str(long_names), "--plot", "r.png").exit_code == 0
    from pathlib import Path

    assert Path("r.svg").read_text().lstrip().startswith("<?xml") and Path("r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    refused = cli("report", "--leaderboard", str(long_names), "--plot", "r.jpg")
    assert refused.exit_code == 2 and ".png, .svg or .pdf" in refused.stderr and not Path("r.jpg").exists()


def test_scores_against_steps(cli, tmp_path):
    from pathlib import Path

    records = [
        scored(m, s, 0.1 * k + 0.01 * s + (0.2 if m == "factor-vae" else 0), {"beta": 4.0}, steps=steps, budget=10_000)
        for m in ("beta-vae", "factor-vae") for s in (0, 1, 2) for k, steps in enumerate((100, 1_000, 10_000))
    ]
    write_leaderboard(tmp_path / "lb.csv", records)
    table = json.loads(cli("report", "--leaderboard", "lb.csv", "--format", "json").stdout)
    beta_vae = next(r for r in table if r["entry"] == "beta-vae")
    assert beta_vae["mean"] == pytest.approx(0.21) and beta_vae["n_seeds"] == 3  # the last checkpoint only
    from disbench.report import plots
    from disbench.report.rows import Selection, selected_rows

    frame = selected_rows(Selection("lb.csv", all_steps=True))
    kept = {}
    original = plots.save_figure
    plots.save_figure = lambda fig, path: kept.setdefault("fig", fig) and path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            plots.plot_steps(frame, "s.png")
    finally:
        plots.save_figure = original
    [ax] = kept["fig"].axes
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 2
    beta = next(line for line in ax.get_lines() if line.get_label() == "beta-vae")
    assert list(beta.get_xdata()) == [100, 1_000, 10_000] and beta.get_ydata()[2] == pytest.approx(0.21)
    result = cli("report", "--leaderboard", "lb.csv", "--plot", "steps.png", "--x", "steps")
    assert result.exit_code == 0 and Path("steps.png").stat().st_size > 1000
    assert cli("report", "--leaderboard", "lb.csv", "--x", "steps").exit_code == 2
