"""Speed and memory of the codes metrics against straightforward references, in one process.

References are transcriptions of disentanglement_lib's code (tests/metrics/metrics_dlib_reference.py):
per-pair ``mutual_info_score`` for MIG and modularity, per-pair ``LinearSVC`` for SAP,
scikit-learn ``GradientBoostingClassifier`` (seeded) per factor for DCI, dlib's loops for IRS
and the unsupervised scores. Data: 10 code dimensions, 5 discrete factors of sizes
3, 6, 40, 32, 32 (dSprites' without colour), codes partly disentangled plus noise.

SAP and DCI score ``num_train`` = 10,000 train and 5,000 test points as dlib does, so at
N = 100,000 both sides get the same seeded subset. The scikit-learn GBT takes minutes at
10,000 points on 2 cores; ``--quick`` (default) runs the DCI comparison at ``--dci-n``
train points (both sides), and ``--full-dci`` runs it at 10,000. DCI rows are the default
trees (``estimator=gbt``, scikit-learn's exact thresholds); ``--dci-noise`` replaces three
mixed dimensions by pure noise. ``--end-to-end`` also times ``disbench eval --codes ...
--metric dci`` on 15,000 points (10,000 train / 5,000 test), process start included, against
the scikit-learn time measured here (at ``--dci-n`` points unless ``--full-dci``: then the
ratio is a lower bound, as scikit-learn's time grows faster than linearly with points).

Usage:
    PYTHONPATH=$PWD python benchmarks/metrics.py                 # quick: N=10k and 100k, DCI at 2k
    PYTHONPATH=$PWD python benchmarks/metrics.py --full-dci      # DCI reference at 10k (~7 min)
    PYTHONPATH=$PWD python benchmarks/metrics.py --sizes --dci-n 2000 --end-to-end   # DCI only
    PYTHONPATH=$PWD python benchmarks/metrics.py --memory        # plus 1,000,000 x 32 peak memory
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "metrics"))

import metrics_dlib_reference as dlib  # noqa: E402

from disbench.datasets.base import Factor  # noqa: E402
from disbench.metrics import METRICS, MetricInput  # noqa: E402
from disbench.metrics.base import CodesMetric  # noqa: E402

SIZES = (3, 6, 40, 32, 32)
DIMS = 10


def make_codes(n: int, rng: np.random.Generator, dims: int = DIMS, noise_dims: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Factors ``(n, 5)`` and codes ``(n, dims)``: one dimension per factor, the rest mixtures, plus noise.

    ``noise_dims``: the last that many dimensions are pure standard normal noise instead of mixtures.
    """
    factors = np.stack([rng.integers(0, k, n) for k in SIZES], axis=1)
    scaled = factors / np.array(SIZES)
    mixing = np.zeros((len(SIZES), dims))
    mixing[np.arange(len(SIZES)), np.arange(len(SIZES))] = 1.0
    mixing[:, len(SIZES):] = np.random.default_rng(123).normal(size=(len(SIZES), dims - len(SIZES))) * 0.5
    codes = scaled @ mixing + 0.05 * rng.normal(size=(n, dims))
    if noise_dims:
        codes[:, dims - noise_dims :] = rng.normal(size=(n, noise_dims))
    return codes, factors


def factor_info() -> list[Factor]:
    return [Factor(name, "content", k) for name, k in zip(("shape", "scale", "orientation", "x", "y"), SIZES)]


def ours(name: str, data: MetricInput, **options):
    info = METRICS.get(name)
    started = time.perf_counter()
    result = info.compute(data, info.Options(**options), np.random.default_rng(0))
    return time.perf_counter() - started, {s.metric: s.value for s in result.scores if s.factor == "all"}


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, value


def compare(n: int, dci_n: int, console: Console) -> tuple[Table, float]:
    rng = np.random.default_rng(0)
    codes, factors = make_codes(n, rng)
    test_codes, test_factors = make_codes(5_000, rng)
    train_codes, train_factors = codes[:10_000], factors[:10_000]  # dlib's num_train for SAP / DCI
    full = MetricInput(codes, factors, factor_info(), test_codes, test_factors)
    capped = MetricInput(train_codes, train_factors, factor_info(), test_codes, test_factors)
    table = Table(title=f"codes metrics, N = {n:,} x {DIMS} dims, 5 factors {SIZES}")
    for column in ("metric", "score", "disbench s", "reference s", "speed-up", "disbench", "reference", "|diff|"):
        table.add_column(column, justify="right" if column not in ("metric", "score") else "left")
    suite_seconds = 0.0

    def row(metric, key, our_time, our_value, ref_time, ref_value, note=""):
        ratio = f"{ref_time / our_time:.1f}x" if ref_time else "-"
        diff = f"{abs(our_value - ref_value):.2g}" if ref_value is not None else "-"
        table.add_row(
            metric + note, key, f"{our_time:.3f}", f"{ref_time:.2f}" if ref_time else "-", ratio,
            f"{our_value:.4f}", f"{ref_value:.4f}" if ref_value is not None else "-", diff,
        )

    console.log(f"N={n:,}: mig")
    t, v = ours("mig", full)
    rt, rv = timed(dlib.mig, codes, factors)
    row("mig", "mig", t, v["mig"], rt, rv)
    suite_seconds += t
    console.log(f"N={n:,}: sap")
    t, v = ours("sap", capped)
    rt, rv = timed(dlib.sap, train_codes, train_factors, test_codes, test_factors, False)
    row("sap", "sap", t, v["sap"], rt, rv, " (10k/5k)")
    suite_seconds += t
    console.log(f"N={n:,}: dci (reference at {dci_n:,} train points)")
    small = MetricInput(codes[:dci_n], factors[:dci_n], factor_info(), test_codes, test_factors)
    t_small, v_small = ours("dci", small)
    rt, reference = timed(dlib.dci, codes[:dci_n], factors[:dci_n], test_codes, test_factors)
    for key in ("disentanglement", "completeness", "informativeness_train", "informativeness_test"):
        row("dci", key, t_small, v_small[f"dci.{key}"], rt, reference[key], f" ({dci_n:,})")
    if dci_n != min(n, 10_000):
        t, v = ours("dci", capped)
        table.add_row("dci (10k, no reference)", "disentanglement", f"{t:.3f}", "-", "-", f"{v['dci.disentanglement']:.4f}", "-", "-")
    else:
        t = t_small
    suite_seconds += t
    console.log(f"N={n:,}: modularity, irs, unsupervised")
    t, v = ours("modularity", full)
    rt, rv = timed(dlib.modularity, codes, factors)
    row("modularity", "modularity", t, v["modularity"], rt, rv)
    suite_seconds += t
    t, v = ours("irs", full)
    rt, rv = timed(dlib.irs, codes, factors)
    row("irs", "irs", t, v["irs"], rt, rv)
    suite_seconds += t
    t, v = ours("unsupervised", full)
    rt, rv = timed(dlib.unsupervised, codes)
    row("unsupervised", "mutual_info", t, v["unsupervised.mutual_info"], rt, rv["mutual_info"])
    suite_seconds += t
    console.log(f"N={n:,}: explicitness, r2 (no reference)")
    for name, key in (("explicitness", "explicitness"), ("r2", "r2.kernel")):
        t, v = ours(name, full)
        row(name, key, t, v[key], None, None)
        suite_seconds += t
    return table, suite_seconds


def dci_only(dci_n: int, noise_dims: int, console: Console) -> tuple[Table, float]:
    """DCI (the default trees) against the scikit-learn reference at ``dci_n`` train / 5,000 test points."""
    rng = np.random.default_rng(0)
    codes, factors = make_codes(dci_n, rng, noise_dims=noise_dims)
    test_codes, test_factors = make_codes(5_000, rng, noise_dims=noise_dims)
    data = MetricInput(codes, factors, factor_info(), test_codes, test_factors)
    title = f"DCI at {dci_n:,} train / 5,000 test points, {DIMS} dims ({noise_dims} pure noise), factors {SIZES}"
    table = Table(title=title)
    for column in ("estimator", "score", "disbench s", "reference s", "speed-up", "disbench", "reference", "|diff|"):
        table.add_column(column, justify="right" if column not in ("estimator", "score") else "left")
    console.log(f"dci: disbench at {dci_n:,} points")
    results = {"gbt": ours("dci", data)}
    console.log(f"dci: scikit-learn reference at {dci_n:,} points (minutes)")
    ref_time, reference = timed(dlib.dci, codes, factors, test_codes, test_factors)
    for name, (seconds, values) in results.items():
        for key, expected in reference.items():
            got = values[f"dci.{key}"]
            table.add_row(
                name, key, f"{seconds:.1f}", f"{ref_time:.1f}", f"{ref_time / seconds:.1f}x",
                f"{got:.4f}", f"{expected:.4f}", f"{abs(got - expected):.4f}",
            )
    return table, ref_time


def end_to_end(reference_seconds: float, reference_n: int, console: Console) -> Table:
    """Wall time of ``disbench eval --codes --metric dci`` (process start included) on 10,000 / 5,000 points."""
    import subprocess
    import tempfile

    rng = np.random.default_rng(0)
    codes, factors = make_codes(15_000, rng)
    table = Table(title="end to end: disbench eval --codes (15,000 rows: 10,000 train / 5,000 test) --metric dci")
    for column in ("estimator", "wall s", f"scikit-learn s (at {reference_n:,} train points)", "speed-up"):
        table.add_column(column, justify="right" if column != "estimator" else "left")
    with tempfile.TemporaryDirectory() as folder:
        np.save(f"{folder}/codes.npy", codes)
        np.save(f"{folder}/factors.npy", factors)
        console.log("end to end: estimator=gbt")
        command = [
            sys.executable, "-m", "disbench", "eval", "--codes", f"{folder}/codes.npy", "--factors",
            f"{folder}/factors.npy", "--metric", "dci", "--leaderboard", f"{folder}/leaderboard.csv", "--quiet",
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        ratio = f"{reference_seconds / seconds:.1f}x" + ("" if reference_n >= 10_000 else " (lower bound)")
        table.add_row("gbt", f"{seconds:.1f}", f"{reference_seconds:.1f}", ratio)
    return table


def memory_check(n: int, dims: int, console: Console) -> Table:
    """Peak traced memory of each codes metric on ``n x dims`` codes (numpy allocations are traced)."""
    rng = np.random.default_rng(0)
    codes, factors = make_codes(n, rng, dims)
    data = MetricInput(codes, factors, factor_info())
    table = Table(title=f"peak memory on {n:,} x {dims} float64 codes ({codes.nbytes / 2**20:.0f} MiB)")
    for column in ("metric", "seconds", "peak MiB", "peak / codes size"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for name, info in METRICS.items():
        if not isinstance(info, CodesMetric):
            continue
        console.log(f"memory: {name}")
        tracemalloc.start()
        started = time.perf_counter()
        info.compute(data, info.Options(), np.random.default_rng(0))
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        table.add_row(name, f"{seconds:.1f}", f"{peak / 2**20:.0f}", f"{peak / codes.nbytes:.2f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000], help="numbers of points (none: skip)")
    parser.add_argument("--dci-n", type=int, default=2_000, help="train points of the DCI comparison (quick mode)")
    parser.add_argument("--full-dci", action="store_true", help="DCI reference at 10,000 train points (minutes)")
    parser.add_argument("--memory", action="store_true", help="also the 1,000,000 x 32 memory check")
    parser.add_argument("--dci-noise", type=int, default=0, help="pure-noise dimensions in the DCI-only comparison")
    parser.add_argument("--end-to-end", action="store_true", help="DCI-only comparison plus `disbench eval` wall time")
    args = parser.parse_args()
    console = Console(stderr=True)
    out = Console(width=150)
    dci_n = 10_000 if args.full_dci else args.dci_n
    if not args.full_dci:
        out.print(f"[bold]quick mode[/]: the DCI reference (scikit-learn GBT) runs at {dci_n:,} train points, "
                  "disbench's DCI on the same points; --full-dci for 10,000.")
    for n in args.sizes:
        table, suite = compare(n, min(dci_n, n), console)
        out.print(table)
        out.print(f"whole codes-only suite (disbench) on {n:,} x {DIMS}: {suite:.1f} s")
    if args.end_to_end:
        table, reference_seconds = dci_only(dci_n, args.dci_noise, console)
        out.print(table)
        out.print(end_to_end(reference_seconds, dci_n, console))
    if args.memory:
        out.print(memory_check(1_000_000, 32, console))


if __name__ == "__main__":
    main()
