"""GeoManCEr speed and scale: seconds per stage, peak memory and accuracy, against a baseline.

Runs the vectorised :func:`disbench.geomancer.fit_geomancer` on S2xS2 at 1k, 10k, 30k and
100k points (``--skip-largest`` drops 100k) and on S2xS2xS2 and SO3xS2 at 10k, then the
straightforward baseline (:mod:`benchmarks.geomancer_baseline`: the reference's dense kNN,
Python loops, lower-triangular operator and ARPACK) in the same process at
``--baseline-sizes``, and prints one Rich table with the speed ratio, the growth exponents
of time and memory on S2xS2 (least-squares slope of log-log), and the mean subspace angle.
Peak memory is measured with tracemalloc (numpy and scipy report their buffers to it).
"total s" is wall time; "cpu s" is the process's CPU time, which on a machine shared with
other jobs is the better guide to the wall time on an idle one (the fit runs one BLAS
thread by default).

    PYTHONPATH=$PWD python benchmarks/geomancer.py --skip-largest
    PYTHONPATH=$PWD python benchmarks/geomancer.py --sizes 1000 10000 --baseline-sizes 1000
    PYTHONPATH=$PWD python benchmarks/geomancer.py --sizes 1000 10000 --others --baseline-sizes --torch-device cpu

``--torch-device DEV`` adds a run of the torch backend (the eigensolver's refinement as
torch sparse CSR products on DEV) at each S2xS2 size, with its eigensolver time as a
ratio to the numpy backend's at the same size (torch is imported before the clock starts).

Reference figures (the 2020 code on 2 cores, S2xS2): 0.38 rad at 1k, 0.18 rad at 10k in
33 s, 0.13 rad at 30k in 335 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from disbench.datasets.product_manifold import ProductManifoldConfig, ProductManifoldDataset  # noqa: E402
from disbench.geomancer import fit_geomancer  # noqa: E402
from disbench.geomancer.algorithm import STAGES  # noqa: E402
from disbench.metrics.subspace_angle import RIGHT_ANGLE, factor_angles, matched_angle  # noqa: E402


def sample(spec: str, n: int, seed: int = 0):
    dataset = ProductManifoldDataset(ProductManifoldConfig(spec=spec))
    rng = np.random.default_rng(seed)
    factors = dataset.sample_factors(n, rng)
    return dataset, factors, dataset.observations_from_factors(factors, rng).astype(np.float64)


def run_ours(spec: str, n: int, backend: str = "numpy", device: str = "cpu") -> dict:
    dataset, factors, points = sample(spec, n)
    tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = fit_geomancer(points, dataset.intrinsic_dim, rng=np.random.default_rng(1), backend=backend, device=device)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    angles = matched_angle(factor_angles(dataset.true_tangents(factors), result.bases, result.labels), result.counts)
    return {
        "name": f"ours {spec}" if backend == "numpy" else f"ours-torch ({device}) {spec}",
        "spec": spec if backend == "numpy" else f"{spec} torch", "n": n, **result.timings, "total": total, "cpu": cpu, "peak_mb": peak / 2**20,
        "angle": float(angles.mean()), "right": result.right_count_fraction,
        "verdict": "separable" if result.separable else "NOT separable",
    }


def run_baseline(spec: str, n: int) -> dict:
    from threadpoolctl import threadpool_limits

    from benchmarks.geomancer_baseline import baseline_fit

    dataset, factors, points = sample(spec, n)
    tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    with threadpool_limits(limits=1, user_api="blas"):  # the same BLAS setting as ours
        components, _, timings = baseline_fit(points, dataset.intrinsic_dim)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    k = dataset.intrinsic_dim
    truth = dataset.true_tangents(factors)
    scores = np.full(n, RIGHT_ANGLE)
    full = [i for i, parts in enumerate(components) if sum(p.shape[1] for p in parts) == k]
    if full:
        bases = np.stack([np.concatenate(components[i], axis=1) for i in full])
        labels = np.stack([np.repeat(np.arange(len(components[i])), [p.shape[1] for p in components[i]]) for i in full])
        counts = np.array([len(components[i]) for i in full])
        scores[full] = matched_angle(factor_angles([t[full] for t in truth], bases, labels), counts)
    right = np.mean([len(parts) == len(truth) for parts in components])
    return {
        "name": f"baseline {spec}", "spec": spec, "n": n, **timings, "total": total, "cpu": cpu, "peak_mb": peak / 2**20,
        "angle": float(scores.mean()), "right": float(right), "verdict": "",
    }


def growth_exponent(sizes: list[int], values: list[float]) -> float:
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 30_000, 100_000])
    parser.add_argument("--skip-largest", action="store_true", help="drop the largest S2xS2 size")
    parser.add_argument("--others", nargs="*", default=["S2xS2xS2", "SO3xS2"], help="specs run at --others-size")
    parser.add_argument("--others-size", type=int, default=10_000)
    parser.add_argument("--baseline-sizes", type=int, nargs="*", default=[1000])
    parser.add_argument("--torch-device", default=None, help="also run the torch backend on this device (cpu, cuda)")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    import sklearn.neighbors  # noqa: F401  (import time is not fitting time)

    sizes = sorted(args.sizes)[:-1] if args.skip_largest else sorted(args.sizes)
    console = Console(stderr=True)
    rows = []
    for n in sizes:
        console.log(f"ours S2xS2 n={n}")
        rows.append(run_ours("S2xS2", n))
    for spec in args.others:
        console.log(f"ours {spec} n={args.others_size}")
        rows.append(run_ours(spec, args.others_size))
    ours_by_n = {r["n"]: r for r in rows if r["spec"] == "S2xS2"}
    if args.torch_device:
        import torch  # noqa: F401  (import time is not fitting time)

        for n in sizes:
            console.log(f"ours-torch S2xS2 n={n} on {args.torch_device}")
            row = run_ours("S2xS2", n, backend="torch", device=args.torch_device)
            ratio = ours_by_n[n]["eigensolver"] / row["eigensolver"]
            row["verdict"] += f", eigensolver {ratio:.2f}x the numpy speed"
            rows.append(row)
    for n in args.baseline_sizes:
        console.log(f"baseline S2xS2 n={n}")
        row = run_baseline("S2xS2", n)
        if n in ours_by_n:
            ours = ours_by_n[n]
            row["verdict"] = f"{row['total'] / ours['total']:.0f}x slower (cpu {row['cpu'] / ours['cpu']:.0f}x)"
        rows.append(row)

    table = Table(title=f"GeoManCEr, {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at the end")
    for column in ("run", "N", *STAGES, "total s", "cpu s", "peak MB", "angle rad", "right count", "verdict"):
        table.add_column(column, justify="left" if column in ("run", "verdict") else "right")
    for r in rows:
        table.add_row(
            r["name"], f"{r['n']:,}", *(f"{r.get(s, 0.0):.2f}" for s in STAGES), f"{r['total']:.2f}", f"{r['cpu']:.2f}",
            f"{r['peak_mb']:.0f}", f"{r['angle']:.3f}", f"{r['right']:.2f}", r["verdict"],
        )
    Console(width=230).print(table)
    ours = [ours_by_n[n] for n in sizes if n in ours_by_n]
    if len(ours) >= 2:
        ns = [r["n"] for r in ours]
        print(
            f"S2xS2 growth exponents (log-log slope over N = {', '.join(map(str, ns))}): "
            f"time {growth_exponent(ns, [r['total'] for r in ours]):.2f} (cpu {growth_exponent(ns, [r['cpu'] for r in ours]):.2f}), "
            f"peak memory {growth_exponent(ns, [r['peak_mb'] for r in ours]):.2f}"
        )


if __name__ == "__main__":
    main()
