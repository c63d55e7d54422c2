"""`report --html`: one self-contained page whose numbers are the report's and the study's (no browser needed)."""

from __future__ import annotations

import base64
import json
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from html_study import METRICS, png, study_records, write_study
from leaderboards import scored, write_leaderboard



def page_data(path) -> dict:
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    assert found, "the page has no data element"
    return json.loads(found.group(1))


class Resources(HTMLParser):
    """Every tag and each attribute that makes a browser load something."""

    def __init__(self):
        super().__init__()
        self.tags, self.loads = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action") and value is not None:
                self.loads.append((tag, name, value))


@pytest.fixture
def study(tmp_path, cli):
    leaderboard, runs, records = write_study(tmp_path)
    page = tmp_path / "study.html"
    result = cli("report", "--leaderboard", str(leaderboard), "--html", str(page), "--runs-dir", str(runs))
    assert result.exit_code == 0, result.output
    return page, records


def test_page_loads_nothing_from_elsewhere(study):
    page, _ = study
    parser = Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    assert "link" not in parser.tags and "iframe" not in parser.tags
    external = [(t, n, v[:40]) for t, n, v in parser.loads if not (v.startswith("data:image/png;base64,") or v.startswith("#"))]
    assert external == []
    assert parser.tags.count("img") == 2  # the run's traversals and reconstructions


def test_table_cells_are_the_seeds_at_the_latest_checkpoint(study):
    page, records = study
    data = page_data(page)["table"]
    headers = [c["header"] for c in data["columns"]]
    assert headers == sorted(headers) and len(headers) == len(METRICS)
    # independent of disbench.report: group the written records by hand
    latest = [r for r in records if r["steps"] == 1000 and r["method"] != "oracle"]
    for row in data["rows"]:
        if row["reference"]:
            assert row["entry"] == "oracle"
            continue
        key, value = row["entry"].split(" (")[1].rstrip(")").split("=")
        for column, cell in zip(data["columns"], row["cells"]):
            values = {r["seed"]: r["value"] for r in latest if r["method"] == row["method"] and r["metric"] == column["metric"]
                      and json.loads(r["hyperparameters"])["method_config"][key] == float(value)}
            assert [s[0] for s in cell["seeds"]] == sorted(values)
            assert [s[1] for s in cell["seeds"]] == pytest.approx([values[s] for s in sorted(values)], rel=1e-5)
            assert cell["mean"] == pytest.approx(np.mean(list(values.values())), rel=1e-5)
            assert cell["text"].endswith("(3)") and cell["spaces"] == ["latent"]
    for index, column in enumerate(data["columns"]):
        contenders = [row["cells"][index]["mean"] for row in data["rows"] if not row["reference"]]
        best = max(contenders) if column["higher"] else min(contenders)
        marked = [row["cells"][index]["mean"] for row in data["rows"] if row["cells"][index] and row["cells"][index]["best"]]
        assert marked == [best]
    assert data["rows"][-1]["cells"][[c["metric"] for c in data["columns"]].index("mig")]["best"] is False


def test_every_column_has_bars_and_curves_where_steps_vary(study, tmp_path, cli):
    page, _ = study
    charts = page_data(page)["charts"]
    kinds = [c["kind"] for c in charts]
    assert kinds.count("bars") == len(METRICS) and kinds.count("curves") == len(METRICS)
    bars = next(c for c in charts if c["kind"] == "bars" and c["metric"] == "mig")["spec"]
    assert len(bars["layer"][0]["data"]["values"]) == 5 and len(bars["layer"][2]["data"]["values"]) == 13  # 4 entries x 3 seeds + oracle
    curve = next(c for c in charts if c["kind"] == "curves" and c["metric"] == "mig")["spec"]
    assert sorted({p["steps"] for p in curve["data"]["values"]}) == [100, 1000]
    assert curve["layer"][0]["encoding"]["x"]["scale"] == {"type": "log"}  # 100 to 1000: a decade

    one_checkpoint = write_leaderboard(tmp_path / "one.csv", [r for r in study_records() if r["steps"] == 1000])
    result = cli("report", "--leaderboard", str(one_checkpoint), "--html", str(tmp_path / "one.html"))
    assert result.exit_code == 0, result.output
    assert "curves" not in {c["kind"] for c in page_data(tmp_path / "one.html")["charts"]}
    assert 'id="curves"' not in (tmp_path / "one.html").read_text(encoding="utf-8")


def test_study_charts_hold_the_study_numbers(study):
    from disbench.report.rows import Selection
    from disbench.report.study import metric_correlations, variance_shares

    page, _ = study
    charts = {c["kind"]: c["spec"] for c in page_data(page)["charts"] if c["kind"] in ("correlations", "variance")}
    leaderboard = page.parent / "leaderboard.csv"
    rho = metric_correlations(Selection(str(leaderboard))).rho
    cells = charts["correlations"]["data"]["values"]
    assert len(cells) == len(METRICS) ** 2
    for cell in cells:
        assert cell["spearman"] == pytest.approx(rho.loc[cell["metric_a"], cell["metric_b"]])
    shares = {s.metric: s for s in variance_shares(Selection(str(leaderboard)))}
    for part in charts["variance"]["data"]["values"]:
        share = shares[part["metric"]]
        expected = {"method": share.method, "hyperparameters": share.configuration, "seed": share.seed}[part["part"]] / share.total
        assert part["share"] == pytest.approx(expected)


def test_provenance_names_versions_devices_sources_and_command(study):
    page, _ = study
    text = page.read_text(encoding="utf-8")
    provenance = text[text.index('id="provenance"'):]
    for expected in ("cpu (test, 2 cores) (13 runs)", "dsprites: rendered in-process (13 runs)", "0.2.0 (12 runs)",
                     "disbench report --leaderboard", "--html", "Vega-Lite"):
        assert expected in provenance


def test_figures_are_embedded_and_large_ones_scaled_down(tmp_path, cli, monkeypatch):
    from disbench.report.html import content

    leaderboard, runs, _ = write_study(tmp_path)
    big = png(tmp_path / "traversals_s0.png", (500, 500), noise=True)  # beside the leaderboard
    assert big.stat().st_size > content.MAX_IMAGE_BYTES
    page = tmp_path / "study.html"
    assert cli("report", "--leaderboard", str(leaderboard), "--html", str(page), "--runs-dir", str(runs)).exit_code == 0
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', page.read_text(encoding="utf-8"))
    captions = [c for c, _ in images]
    assert captions[0].startswith("beta-vae (beta=1), seed 0: latent traversals") and "reconstructions" in captions[1]
    embedded = base64.b64decode(images[2][1])
    assert embedded.startswith(b"\x89PNG") and len(embedded) <= content.MAX_IMAGE_BYTES
    assert "(scaled down)" in page.read_text(encoding="utf-8")


def test_a_corrupt_figure_is_reported_not_embedded(tmp_path, cli):
    leaderboard, runs, _ = write_study(tmp_path)
    (tmp_path / "reconstructions_s0.png").write_bytes(b"not a png")
    result = cli("report", "--leaderboard", str(leaderboard), "--html", str(tmp_path / "s.html"))
    assert result.exit_code == 1
    assert "reconstructions_s0.png" in result.output and "is not a PNG" in result.output
    assert not (tmp_path / "s.html").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--plot", "x.png"], "drop --plot"),
        (["--variance"], "drop --variance"),
        (["--out", "t.md"], "drop --out"),
    ],
)
def test_html_refuses_what_it_already_contains(tmp_path, cli, extra, message):
    leaderboard = write_leaderboard(tmp_path / "lb.csv", [scored("pca", 0, 0.5)])
    result = cli("report", "--leaderboard", str(leaderboard), "--html", str(tmp_path / "s.html"), *extra)
    assert result.exit_code == 2 and message in result.output


def test_runs_dir_only_with_html(tmp_path, cli):
    leaderboard = write_leaderboard(tmp_path / "lb.csv", [scored("pca", 0, 0.5)])
    result = cli("report", "--leaderboard", str(leaderboard), "--runs-dir", "runs")
    assert result.exit_code == 2 and "add --html" in result.output


def test_html_needs_an_html_file_name(tmp_path, cli):
    leaderboard = write_leaderboard(tmp_path / "lb.csv", [scored("pca", 0, 0.5)])
    result = cli("report", "--leaderboard", str(leaderboard), "--html", str(tmp_path / "s.png"))
    assert result.exit_code == 2 and "ending in .html" in result.output


def test_missing_plot_library_says_what_to_install(tmp_path, cli, monkeypatch):
    from disbench.report.html import page

    page.plot_library.cache_clear()
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # import fails as if not installed
    leaderboard = write_leaderboard(tmp_path / "lb.csv", [scored("pca", 0, 0.5)])
    result = cli("report", "--leaderboard", str(leaderboard), "--html", str(tmp_path / "s.html"))
    page.plot_library.cache_clear()
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'disbench[html]'" in lines[0]


def test_page_size_grows_with_entries_not_rows(tmp_path, cli):
    """Per-factor rows and earlier rescoring are not embedded: ten times the rows, the same page data."""
    records = study_records()
    noisy = list(records)
    for factor in range(9):
        noisy += [{**r, "factor": f"factor{factor}"} for r in records]
    sizes = []
    for name, rows in (("small", records), ("large", noisy)):
        leaderboard = write_leaderboard(tmp_path / f"{name}.csv", rows)
        assert cli("report", "--leaderboard", str(leaderboard), "--html", str(tmp_path / f"{name}.html")).exit_code == 0
        sizes.append(len(json.dumps(page_data(tmp_path / f"{name}.html"))))
    assert sizes[0] == sizes[1]


def test_a_crowded_column_draws_its_best_entries_and_says_so(tmp_path, monkeypatch):
    from disbench.report.html import content, write_html_report
    from disbench.report.rows import Selection

    monkeypatch.setattr(content, "MAX_BARS", 2)
    monkeypatch.setattr(content, "MAX_CURVES", 1)
    leaderboard, _, _ = write_study(tmp_path)
    page = write_html_report(Selection(str(leaderboard)), tmp_path / "s.html")
    charts = page_data(page)["charts"]
    table = page_data(page)["table"]
    mig = [c["metric"] for c in table["columns"]].index("mig")
    best_two = sorted((r["cells"][mig]["mean"], r["entry"]) for r in table["rows"] if not r["reference"])[-2:]
    bars = next(c for c in charts if c["kind"] == "bars" and c["metric"] == "mig")["spec"]["layer"][0]["data"]["values"]
    assert {b["entry"] for b in bars} == {e for _, e in best_two} | {"oracle"}
    curve = next(c for c in charts if c["kind"] == "curves" and c["metric"] == "mig")["spec"]["data"]["values"]
    assert len({p["entry"] for p in curve}) == 1
    text = page.read_text(encoding="utf-8")
    assert "dsprites / mig ↑ (2 more entries not drawn" in text and "dsprites / mig (3 more entries not drawn" in text
