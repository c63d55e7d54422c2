"""`report --html` in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

The page must fetch nothing from the network, sort its table on a header click, hide rows
with a filter, draw every chart's marks as SVG, and log no error. Without Chromium or the
Chromium (a system package, which `.ci/run` installs) these tests skip, saying so; Playwright's
client and vl-convert-python come with the ``dev`` extra.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from html_study import METRICS, write_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium): browser tests skipped", allow_module_level=True)

#: the marks each kind of chart draws (Vega's SVG renderer: a <g class="mark-TYPE"> per mark)
MARKS = {"bars": ("rect", "rule", "symbol"), "curves": ("area", "line"), "correlations": ("rect", "text"), "variance": ("rect",)}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    from disbench.report.html import write_html_report
    from disbench.report.rows import Selection

    folder = tmp_path_factory.mktemp("study")
    leaderboard, runs, _ = write_study(folder)
    return write_html_report(Selection(str(leaderboard)), folder / "study.html", runs, "disbench report --html study.html")


@pytest.fixture
def opened(browser, page_file):
    """The page open in a fresh tab, every request that is not a file or data URL refused and recorded,
    console errors and uncaught exceptions recorded."""
    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    fetched, errors = [], []

    def route(route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            fetched.append(url)
            route.abort()

    tab.route("**/*", route)
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(page_file.as_uri())
    tab.wait_for_selector("#leaderboard-table tbody tr")
    yield tab, fetched, errors
    tab.close()


def row_entries(tab) -> list[str]:
    return tab.locator("#leaderboard-table tbody tr th").all_inner_texts()


def column_values(tab, header: str) -> list[float]:
    headers = tab.locator("#leaderboard-table thead th").all_inner_texts()
    index = next(i for i, text in enumerate(headers) if text.startswith(header))
    cells = tab.locator(f"#leaderboard-table tbody tr > :nth-child({index + 1})").all_inner_texts()
    return [float(text.split(" ")[0]) for text in cells if text != "–"]


def test_every_chart_draws_its_marks_and_nothing_is_fetched(opened):
    tab, fetched, errors = opened
    charts = tab.locator(".chart[data-chart]")
    count = charts.count()
    assert count == 2 * len(METRICS) + 2  # bars and curves per metric, the heatmap, the variance shares
    tab.wait_for_function(f"document.querySelectorAll('.chart[data-drawn]').length === {count}", timeout=60_000)
    kinds = tab.evaluate("JSON.parse(document.getElementById('report-data').textContent).charts.map(c => c.kind)")
    for index, kind in enumerate(kinds):
        chart = tab.locator(f'.chart[data-chart="{index}"]')
        for mark in MARKS[kind]:
            drawn = chart.locator(f"svg g.mark-{mark} > *").count()
            assert drawn > 0, f"chart {index} ({kind}) drew no {mark} marks"
    assert fetched == [] and errors == []
    assert tab.locator("#figures img").count() == 2
    assert tab.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")


def test_header_click_sorts_the_table(opened):
    tab, fetched, errors = opened
    before = row_entries(tab)
    tab.locator("#leaderboard-table thead th", has_text="dsprites / mig").click()
    values = column_values(tab, "dsprites / mig")
    contenders = values[:-1]  # the oracle's reference row stays last
    assert contenders == sorted(contenders, reverse=True)  # higher is better: best first
    assert tab.locator("#leaderboard-table tbody tr").first.locator("td.best").count() >= 1
    assert row_entries(tab)[-1] == "oracle (reference)" and row_entries(tab) != before
    tab.locator("#leaderboard-table thead th", has_text="dsprites / mig").click()
    again = column_values(tab, "dsprites / mig")[:-1]
    assert again == sorted(again)
    # lower is better: the first click puts the lowest first
    tab.locator("#leaderboard-table thead th", has_text="unsupervised.mutual_info").click()
    lowest = column_values(tab, "dsprites / unsupervised.mutual_info")
    assert lowest == sorted(lowest)
    assert fetched == [] and errors == []


def test_filters_hide_rows_columns_and_charts(opened):
    tab, fetched, errors = opened
    assert len(row_entries(tab)) == 5
    tab.select_option("#filter-method", "factor-vae")
    assert row_entries(tab) == ["factor-vae (gamma=10)", "factor-vae (gamma=100)"]
    tab.select_option("#filter-method", "")
    tab.fill("#filter-entry", "beta=8")
    assert row_entries(tab) == ["beta-vae (beta=8)"]
    assert "1 of 5 entries" in tab.locator("#shown").inner_text()
    tab.fill("#filter-entry", "")
    tab.fill("#filter-metric", "mig")
    headers = tab.locator("#leaderboard-table thead th").all_inner_texts()
    assert headers == ["entry", "dsprites / mig ↑"]
    visible = tab.locator("figure.panel:visible")
    assert visible.count() == 2 + 2  # mig's bars and curve; the study charts belong to no one metric
    assert fetched == [] and errors == []


def test_cell_hover_lists_its_seeds(opened):
    tab, _, _ = opened
    title = tab.locator("#leaderboard-table tbody tr").first.locator("td").first.get_attribute("title")
    lines = title.splitlines()
    assert [line.split(":")[0] for line in lines[2:]] == ["seed 0", "seed 1", "seed 2"]
    assert "beta-vae_dsprites_s0_" in lines[2]


COMMITTED_PAGES = sorted((Path(__file__).resolve().parents[1] / "results").glob("*/report.html"))


@pytest.mark.parametrize("page_file", COMMITTED_PAGES, ids=lambda p: p.parent.name)
def test_committed_pages_open_offline_sort_filter_and_draw(opened):
    tab, fetched, errors = opened
    count = tab.locator(".chart[data-chart]").count()
    tab.wait_for_function(f"document.querySelectorAll('.chart[data-drawn]').length === {count}", timeout=60_000)
    assert tab.locator(".chart svg g[class^='mark-'] > *").count() > count
    rows = len(row_entries(tab))
    first = tab.locator("#leaderboard-table thead th").nth(1)
    first.click()
    assert first.get_attribute("aria-sort") in ("ascending", "descending")
    tab.fill("#filter-entry", row_entries(tab)[0])
    assert 1 <= len(row_entries(tab)) <= rows
    assert fetched == [] and errors == []
