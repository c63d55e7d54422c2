"""Reading and writing a leaderboard of a whole study: 300,000 rows of about 900 bytes.

A synthetic leaderboard of ``--rows`` rows is written to a temporary folder (runs of 21 rows:
7 metrics x 3 factors, each row with a dlib-sized ``hyperparameters`` text, about 900 bytes a
row, as the study's). In this process the benchmark then times:

- reading it (:func:`disbench.store.read_leaderboard`: pandas' parser and column-wise checks)
  against the line-by-line reader every leaderboard used before (the same checks, one record
  at a time; still the fallback that names a bad line);
- adding one run's rows (:func:`disbench.store.write_rows`, appended under the lock) against
  rewriting the whole file with them, as every write did before; and the first write after
  the file changed outside disbench, which checks every line once;
- ``disbench report``'s table (:func:`disbench.report.build_report`) on the same file.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/leaderboard_scale.py
    PYTHONPATH=$PWD nice -n 10 python benchmarks/leaderboard_scale.py --rows 30000 --repeats 5
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
import time
from pathlib import Path

METRICS = ("mig", "sap", "dci.disentanglement", "dci.completeness", "modularity", "beta-vae", "factor-vae")
FACTORS = ("all", "shape", "scale")
ROWS_PER_RUN = len(METRICS) * len(FACTORS)


def run_rows(run: int, value_offset: float = 0.0) -> list[dict]:
    """The 21 rows of synthetic run ``run``: a dlib-like configuration, a score per metric and factor."""
    from disbench.store import canonical_json

    seed, config = run % 50, run // 50
    method_config = {
        "beta": float(1 + config % 6), "latent_dim": 10, "learning_rate": 0.0001, "batch_size": 64, "adam_beta1": 0.9,
        "adam_beta2": 0.999, "adam_epsilon": 1e-08, "encoder": "conv", "decoder": "deconv", "reconstruction": "bernoulli",
        "channels": [32, 32, 64, 64], "hidden": 256, "save_at": [], "gamma": 0.0, "c_max": 0.0, "iteration_threshold": 0,
    }
    hyperparameters = canonical_json({"method_config": method_config, "dataset_config": {"variant": "full"}, "steps": 300000})
    rows = []
    for m, metric in enumerate(METRICS):
        options = canonical_json({"num_train": 10000, "num_bins": 20, "estimator": "gbt", "metric": metric})
        for f, factor in enumerate(FACTORS):
            rows.append({
                "run_id": f"beta-vae_dsprites_s{seed}_{config:010d}", "config_hash": f"{config:010d}", "method": "beta-vae",
                "dataset": "dsprites", "data_source": "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz (sha256 1b1c0e...)",
                "seed": seed, "space": "latent", "metric": metric, "factor": factor,
                "value": (run * 7 + m * 3 + f) % 997 / 997 + value_offset, "higher_is_better": True, "metric_options": options,
                "n_eval": 10000, "n_test": 5000, "eval_seed": 0, "steps": 300000, "disbench_version": "0.9.0",
                "torch_version": "2.5.1+cu124", "python_version": "3.11.7", "device": "cuda:0 (NVIDIA H200)",
                "train_seconds": 1234.567, "eval_seconds": 12.3456, "timestamp": "2026-12-01T10:00:00+0000",
                "label": "", "hyperparameters": hyperparameters, "parameters": 469_261,
            })
    return rows


def write_synthetic(path: Path, rows: int) -> int:
    """A leaderboard of ``rows`` rows (whole runs), written directly as CSV."""
    from disbench.store import LEADERBOARD_COLUMNS
    from disbench.store.leaderboard import row_cells

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LEADERBOARD_COLUMNS)
        for run in range(rows // ROWS_PER_RUN):
            writer.writerows(row_cells(row) for row in run_rows(run))
    return rows // ROWS_PER_RUN * ROWS_PER_RUN


def read_line_by_line(path: Path):
    """The baseline reader: every record parsed and checked in Python, then typed (as before)."""
    import pandas as pd

    from disbench.store.leaderboard import INTEGER_COLUMNS, LEADERBOARD_COLUMNS, NUMBER_COLUMNS
    from disbench.store.leaderboard_file import checked_records, read_bytes

    header, records = checked_records(path, read_bytes(path))
    index = {name: i for i, name in enumerate(header)}
    aligned = [[record[index[c]] if c in index else "" for c in LEADERBOARD_COLUMNS] for record in records]
    frame = pd.DataFrame(aligned, columns=LEADERBOARD_COLUMNS, dtype=object)
    frame["value"] = frame["value"].astype(float)
    for column in NUMBER_COLUMNS:
        numbers = pd.to_numeric(frame[column])
        if column in INTEGER_COLUMNS:
            numbers = numbers.astype("Int64") if numbers.isna().any() else numbers.astype("int64")
        frame[column] = numbers
    return frame


def rewrite_with(path: Path, rows: list[dict]) -> None:
    """The baseline writer: read and check every line, drop the rescored rows, rewrite the file."""
    from filelock import FileLock

    from disbench.store.atomic import atomic_path
    from disbench.store.leaderboard import LEADERBOARD_COLUMNS, cells_key, row_cells
    from disbench.store.leaderboard_file import checked_records, read_bytes

    new = [row_cells(row) for row in rows]
    with FileLock(str(path) + ".lock"):
        header, records = checked_records(path, read_bytes(path))
        keys = {cells_key(dict(zip(LEADERBOARD_COLUMNS, cells))) for cells in new}
        kept = [record for record in records if cells_key(dict(zip(header, record))) not in keys]
        with atomic_path(path) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(LEADERBOARD_COLUMNS)
                writer.writerows(kept + new)


def best_of(repeats: int, action) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from disbench.report import build_report
    from disbench.store import read_leaderboard, write_rows

    folder = Path(tempfile.mkdtemp(prefix="leaderboard-scale-"))
    try:
        path = folder / "leaderboard.csv"
        rows = write_synthetic(path, args.rows)
        size = path.stat().st_size
        print(f"{rows:,} rows, {size / 1e6:.0f} MB ({size / rows:.0f} bytes a row)", flush=True)

        fast = best_of(args.repeats, lambda: read_leaderboard(path))
        slow = best_of(1, lambda: read_line_by_line(path))
        assert len(read_leaderboard(path)) == len(read_line_by_line(path)) == rows
        print(f"read: {fast:.2f} s column-wise, {slow:.2f} s line by line: {slow / fast:.1f}x", flush=True)

        baseline = folder / "rewritten.csv"
        shutil.copy(path, baseline)
        first = best_of(1, lambda: write_rows(path, run_rows(0, value_offset=0.5)))  # no record of a check yet
        counter = iter(range(10**6))
        append = best_of(args.repeats, lambda: write_rows(path, run_rows(next(counter) % 100, value_offset=0.25)))
        rewrite = best_of(1, lambda: rewrite_with(baseline, run_rows(0, value_offset=0.5)))
        print(
            f"add one run's {ROWS_PER_RUN} rows: {append * 1e3:.0f} ms appended, {rewrite:.2f} s rewriting the file: "
            f"{rewrite / append:.0f}x (the first write after an outside change checks every line: {first:.2f} s)",
            flush=True,
        )
        frame = read_leaderboard(path)
        rescored = frame.loc[frame["run_id"].isin({row["run_id"] for row in run_rows(0)}), "value"]
        assert len(frame) == rows and len(rescored) == ROWS_PER_RUN and rescored.min() >= 0.25  # each score once, the latest

        report = best_of(1, lambda: build_report(path))
        print(f"report table (build_report): {report:.2f} s", flush=True)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
