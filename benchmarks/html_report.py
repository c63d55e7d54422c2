"""How big and how fast `disbench report --html` is on a large study, and how fast the page opens.

A synthetic leaderboard of ``--rows`` rows (default 300,000) is written to a temporary folder:
runs of ``--methods`` methods x ``--configs`` configurations x ``--seeds`` seeds on two
datasets, each scored with 25 metrics (the aggregate and 5 factors) at 5 checkpoints. The
benchmark then times, in this process, reading and pooling the leaderboard alone
(:func:`disbench.report.pooling.build_report`, the baseline every report pays) and writing the whole
page (:func:`disbench.report.html.write_html_report`), and reports the page size. With
Chromium installed it also opens the page headless (Playwright) and times until every table
row and chart is drawn.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/html_report.py
    PYTHONPATH=$PWD nice -n 10 python benchmarks/html_report.py --rows 30000 --keep /tmp/page.html

Target: the page opens in a few seconds; the page holds aggregates, so its size grows with
entries x columns x checkpoints, not with rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATASETS = ("dsprites", "shapes3d")
METRICS = tuple(f"metric{i:02d}" for i in range(25))
FACTORS = ("all", "f0", "f1", "f2", "f3", "f4")
CHECKPOINTS = (1000, 3000, 10000, 30000, 100000)


def synthetic_leaderboard(path: Path, rows: int, methods: int, configs: int, seeds: int) -> int:
    """Write a leaderboard of about ``rows`` rows; the number of seeds grows until the rows are reached."""
    import pandas as pd

    from disbench.store import LEADERBOARD_COLUMNS

    per_run = len(METRICS) * len(FACTORS) * len(CHECKPOINTS)
    runs_needed = max(1, rows // per_run)
    seeds = max(seeds, -(-runs_needed // (methods * configs * len(DATASETS))))
    rng = np.random.default_rng(0)
    records = []
    made = 0
    for dataset in DATASETS:
        for m in range(methods):
            for c in range(configs):
                hyper = json.dumps({"method_config": {"beta": 2.0 ** c}, "dataset_config": {}, "steps": CHECKPOINTS[-1]}, sort_keys=True)
                for seed in range(seeds):
                    if made >= runs_needed:
                        break
                    made += 1
                    run_id = f"method{m}_{dataset}_s{seed}_c{c}"
                    base = rng.uniform(0.1, 0.8, size=len(METRICS))
                    for steps in CHECKPOINTS:
                        growth = np.log10(steps) / 5
                        values = np.clip(base * growth + rng.normal(0, 0.03, size=(len(FACTORS), len(METRICS))), 0, 1)
                        for fi, factor in enumerate(FACTORS):
                            for mi, metric in enumerate(METRICS):
                                records.append((run_id, f"method{m}", dataset, seed, metric, factor, values[fi, mi], steps, hyper))
    frame = pd.DataFrame(records, columns=["run_id", "method", "dataset", "seed", "metric", "factor", "value", "steps", "hyperparameters"])
    frame["space"] = "latent"
    frame["higher_is_better"] = True
    frame["metric_options"] = ""
    frame["timestamp"] = "2026-12-01T10:00:00+0000"
    frame["label"] = ""
    frame["config_hash"] = frame["run_id"].str[-2:]
    frame["data_source"] = "synthetic"
    frame["device"] = "cpu"
    frame["disbench_version"] = "0.2.0"
    for column in LEADERBOARD_COLUMNS:
        if column not in frame.columns:
            frame[column] = 0
    frame[LEADERBOARD_COLUMNS].to_csv(path, index=False)
    return len(frame)


def open_in_chromium(page: Path) -> dict[str, float] | None:
    """Seconds until the table is drawn and until every chart is drawn, in headless Chromium; None without it."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if executable is None:
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto("about:blank")
        started = time.perf_counter()
        tab.goto(page.resolve().as_uri())
        tab.wait_for_selector("#leaderboard-table tbody tr")
        table = time.perf_counter() - started
        tab.wait_for_function(
            "document.querySelectorAll('.chart[data-chart]').length === document.querySelectorAll('.chart[data-drawn]').length",
            timeout=600_000,
        )
        charts = time.perf_counter() - started
        browser.close()
    return {"table drawn": table, "all charts drawn": charts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--methods", type=int, default=8)
    parser.add_argument("--configs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="also copy the page here")
    args = parser.parse_args()

    from disbench.report.html import write_html_report
    from disbench.report.pooling import build_report
    from disbench.report.rows import Selection

    with tempfile.TemporaryDirectory() as folder:
        leaderboard = Path(folder) / "leaderboard.csv"
        rows = synthetic_leaderboard(leaderboard, args.rows, args.methods, args.configs, args.seeds)
        started = time.perf_counter()
        table = build_report(str(leaderboard))
        baseline = time.perf_counter() - started
        page = Path(folder) / "study.html"
        started = time.perf_counter()
        write_html_report(Selection(str(leaderboard)), page, command="benchmarks/html_report.py")
        seconds = time.perf_counter() - started
        print(f"leaderboard: {rows:,} rows ({leaderboard.stat().st_size / 1e6:.1f} MB); table {len(table.entries)} entries x {len(table.columns)} columns")
        print(f"build_report (read + pool, the baseline): {baseline:.1f} s")
        print(f"write_html_report: {seconds:.1f} s ({seconds / baseline:.2f} x the baseline)")
        print(f"page: {page.stat().st_size / 1e6:.2f} MB")
        opened = open_in_chromium(page)
        if opened is None:
            print("headless Chromium: not available (apt-get install chromium; pip install playwright)", file=sys.stderr)
        else:
            for what, value in opened.items():
                print(f"headless Chromium, {what}: {value:.1f} s")
        if args.keep:
            shutil.copy(page, args.keep)


if __name__ == "__main__":
    main()
