"""Train the self-supervised methods on the synthetic data and print their R^2 matrices.

The check of Eastwood et al.'s claim on data whose factors are known (the synthetic
data's default, von Kugelgen et al.'s reference mode: 5 content and 5 style dimensions,
views perturb the style): with the presets in methods/*.yaml, multispace's content
space keeps content and drops style, its style space keeps style, and SimCLR's single
space keeps content only. Also runs ablations and variants (one switch each);
``--data mode=groups`` runs them on disbench's M-group data instead.

    PYTHONPATH=$PWD python benchmarks/ssl_synthetic_r2.py                 # all runs, writes results/ssl_synthetic_r2.csv
    PYTHONPATH=$PWD python benchmarks/ssl_synthetic_r2.py --runs multispace simclr --seeds 0 1   # replaces those rows only
    PYTHONPATH=$PWD python benchmarks/ssl_synthetic_r2.py --replot             # heatmaps from the CSV
    PYTHONPATH=$PWD python benchmarks/ssl_synthetic_r2.py --data mode=groups --out results/ssl_synthetic_r2_groups.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from disbench.store.atomic import atomic_path
from disbench.config import build_config
from disbench.datasets.synthetic import SyntheticConfig, SyntheticDataset
from disbench.methods import METHODS
from disbench.metrics.r2 import r2_matrix
from disbench.presets import method_defaults
from disbench.training import run_training_loop

#: run name -> (method, hyperparameter overrides on top of the preset)
RUNS = {
    "multispace": ("multispace", {}),
    "multispace-no-joint-entropy": ("multispace", {"joint_entropy": False}),
    "multispace-no-content-entropy": ("multispace", {"content_entropy": False}),
    "multispace-unit-content-slice": ("multispace", {"content_entropy_slice": "unit"}),
    "multispace-fixed-lambdas": ("multispace", {"adaptive_lambdas": False}),
    "multispace-vicreg": ("multispace", {"entropy": "vicreg", "initial_lambda": 0.0, "lr": 1e-3}),
    "simclr": ("simclr", {}),
    "simclr-textbook": ("simclr", {"denominator": "textbook"}),
    "vicreg": ("vicreg", {}),
}


def run(
    name: str, seed: int, steps: int | None, eval_points: int, overrides: dict, data: dict
) -> tuple[dict, float, dict]:
    method_name, extra = RUNS[name]
    hyper, budget = method_defaults(method_name, "synthetic")
    hyper.update(extra)
    hyper.update(overrides)
    dataset = SyntheticDataset(build_config(SyntheticConfig, data, "dataset 'synthetic'"))
    method_cls = METHODS.get(method_name)
    config = build_config(method_cls.Config, hyper, f"method {method_name!r}")
    method = method_cls(config, dataset, seed=seed)
    cpu_started = time.process_time()
    with tempfile.TemporaryDirectory() as run_dir:
        outcome = run_training_loop(method, steps or int(budget["steps"]), Path(run_dir))
    # CPU seconds: on a shared machine wall time overstates what the run costs on its own cores
    outcome.final_logs["cpu_seconds"] = time.process_time() - cpu_started
    rng = np.random.default_rng(10_000 + seed)
    train_x, train_f = dataset.sample(eval_points, rng)
    test_x, test_f = dataset.sample(eval_points // 2, rng)
    matrix = r2_matrix(method.encode(train_x).spaces, train_f, method.encode(test_x).spaces, test_f, dataset.factors)
    return matrix, outcome.seconds, outcome.final_logs


def write_heatmap(matrix: dict, path: Path, title: str) -> None:
    import pandas as pd

    from disbench.figures.heatmap import write_r2_heatmap

    path.parent.mkdir(parents=True, exist_ok=True)
    write_r2_heatmap(pd.DataFrame(matrix).T, path, title=f"kernel R$^2$: {title}")


def replot(csv_path: Path, folder: Path) -> None:
    import pandas as pd

    table = pd.read_csv(csv_path)
    for (name, seed), rows in table.groupby(["run", "seed"], sort=False):
        matrix = rows.pivot(index="space", columns="group", values="r2_kernel").loc[rows["space"].unique()]
        write_heatmap(matrix.T.to_dict(), folder / f"{csv_path.stem}_{name}_s{seed}.png", f"{name}, seed {seed}")


def kept_rows(csv_path: Path, replaced: set[tuple[str, str]]) -> list[dict]:
    """Rows of an earlier CSV whose (run, seed) this invocation did not recompute, so a partial rerun updates it."""
    if not csv_path.exists():
        return []
    with open(csv_path, newline="") as handle:
        return [row for row in csv.DictReader(handle) if (row["run"], row["seed"]) not in replaced]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=None, help="override the preset's budget")
    parser.add_argument("--eval-points", type=int, default=2000, help="fitting points (half as many held out)")
    parser.add_argument("--set", nargs="*", default=[], help="key=value hyperparameter overrides for every run")
    parser.add_argument("--data", nargs="*", default=[], help="key=value options of the synthetic data (e.g. mode=groups)")
    parser.add_argument("--out", default="results/ssl_synthetic_r2.csv")
    parser.add_argument("--heatmaps", default="results", help="folder for one heatmap PNG per run ('' for none)")
    parser.add_argument("--replot", action="store_true", help="only redraw the heatmaps from --out's CSV")
    args = parser.parse_args()
    if args.replot:
        replot(Path(args.out), Path(args.heatmaps))
        return
    overrides = dict(item.split("=", 1) for item in args.set)
    data = dict(item.split("=", 1) for item in args.data)
    rows = []
    for name in args.runs:
        for seed in args.seeds:
            matrix, seconds, logs = run(name, seed, args.steps, args.eval_points, overrides, data)
            print(
                f"\n{name} seed {seed}: trained in {seconds:.1f} s wall, {logs['cpu_seconds']:.1f} s CPU "
                "(kernel-ridge R^2, rows: space, cols: group)"
            )
            groups = list(next(iter(matrix.values())))
            print(f"{'space':>16} " + " ".join(f"{g:>9}" for g in groups))
            for space, row in matrix.items():
                print(f"{space:>16} " + " ".join(f"{row[g]:9.3f}" for g in groups))
                rows += [
                    {"run": name, "seed": seed, "space": space, "group": g, "r2_kernel": round(row[g], 4),
                     "train_seconds": round(seconds, 1), "train_cpu_seconds": round(logs["cpu_seconds"], 1)}
                    for g in groups
                ]
            if args.heatmaps:
                png = Path(args.heatmaps) / f"{Path(args.out).stem}_{name}_s{seed}.png"
                write_heatmap(matrix, png, f"{name}, seed {seed}")
            lambdas = {k: round(v, 3) for k, v in logs.items() if k.startswith(("lambda/", "violation/"))}
            if lambdas:
                print("final", lambdas)
            sys.stdout.flush()
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = kept_rows(out, {(row["run"], str(row["seed"])) for row in rows}) + rows
        with atomic_path(out) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
