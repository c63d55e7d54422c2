"""disbench's training loop against a bare PyTorch loop: same model, data and optimiser, same process.

For each case both loops train a fresh copy of the method (seeded alike) for ``--steps``
steps; the repeats interleave the two (bare first on even repeats, disbench first on odd
ones) so that other processes on the machine slow both alike, and the medians are
compared. The bare loop is what a researcher would write: the method's own
``training_step`` (which draws the batch), ``zero_grad``, ``backward``, ``optimizer.step``,
at torch's default threads and without reading the loss. disbench's loop adds the learning
rate schedule, the loss log, the NaN check, the progress bar, its thread choice and a
checkpoint at the end.

    PYTHONPATH=$PWD python benchmarks/train_overhead.py                  # CPU, the three cases
    PYTHONPATH=$PWD python benchmarks/train_overhead.py --device cuda --steps 200
    PYTHONPATH=$PWD python benchmarks/train_overhead.py --other-loop ../main/disbench/training/loop.py
                                    # also time another version of the loop, interleaved (before/after)

Target: disbench's median step within 10% of the bare loop's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from disbench import training
from disbench.training.runs import build_dataset, build_method, resolve_run_spec

CASES = {
    # dlib's conv VAE on 64x64 dSprites (rendered: no download needed), batch 64
    "beta-vae/dsprites": ("beta-vae", "dsprites", {"dataset.source": "render"}),
    "multispace/synthetic": ("multispace", "synthetic", {}),
    # the colour-dSprites CPU suite's SimCLR: small conv encoder, batch 64
    "simclr/color-dsprites": (
        "simclr", "color-dsprites",
        {"dataset.source": "render", "encoder": "conv", "batch_size": 64, "embedding_dim": 32, "projector_hidden": [256]},
    ),
}  # fmt: skip


def fresh_method(method: str, dataset: str, overrides: dict, steps: int, device: str):
    spec = resolve_run_spec(method, dataset, 0, steps, overrides)
    return build_method(spec, build_dataset(spec.dataset, spec.dataset_config), device)


def bare_seconds_per_step(method, steps: int) -> float:
    optimizer = method.configure_optimizer()
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    method.model.train()
    synchronize(method.device)
    start = time.perf_counter()
    for step in range(steps):
        losses = method.training_step(step, rng)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()
    synchronize(method.device)
    return (time.perf_counter() - start) / steps


def disbench_seconds_per_step(method, steps: int, folder: Path, loop=training) -> float:
    folder.mkdir(parents=True)
    synchronize(method.device)
    start = time.perf_counter()
    run = getattr(loop, "run_training_loop", None) or loop.train  # an older loop's entry point was `train`
    run(method, steps, folder, resume=False)
    synchronize(method.device)
    return (time.perf_counter() - start) / steps


def load_loop(path: str):
    """Another version of the loop's module (``disbench/training/loop.py``, or an older
    ``disbench/training/__init__.py``), imported under its own name beside this one."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("other_training_loop", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def synchronize(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--case", action="append", choices=list(CASES), help="(repeatable; default: all)")
    parser.add_argument("--other-loop", help="path of another version of disbench/training/loop.py to time as well (e.g. before a change)")
    args = parser.parse_args()
    other = load_loop(args.other_loop) if args.other_loop else None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} default threads, device {args.device}, "
          f"{args.steps} steps x {args.repeats} interleaved repeats")  # fmt: skip
    extra = " other loop ms/step | its overhead |" if other else ""
    print("| case | bare ms/step | disbench ms/step | overhead |" + extra)
    print("|---|---:|---:|---:|" + ("---:|---:|" if other else ""))
    for case in args.case or list(CASES):
        method_name, dataset, overrides = CASES[case]
        times: dict[str, list[float]] = {"bare": [], "disbench": [], "other": []}
        fresh_method(method_name, dataset, overrides, args.steps, args.device)  # warm caches (rendering, imports)
        loops = ["bare", "disbench"] + (["other"] if other else [])
        for repeat in range(args.repeats):
            with tempfile.TemporaryDirectory() as folder:
                for which in loops[repeat % len(loops):] + loops[: repeat % len(loops)]:  # rotate the order
                    method = fresh_method(method_name, dataset, overrides, args.steps, args.device)
                    if which == "bare":
                        seconds = bare_seconds_per_step(method, args.steps)
                    else:
                        loop = other if which == "other" else training
                        seconds = disbench_seconds_per_step(method, args.steps, Path(folder) / which, loop)
                    times[which].append(seconds)
        b, d = statistics.median(times["bare"]), statistics.median(times["disbench"])
        row = f"| {case} | {1000 * b:.1f} | {1000 * d:.1f} | {100 * (d / b - 1):+.0f}% |"
        if other:
            o = statistics.median(times["other"])
            row += f" {1000 * o:.1f} | {100 * (o / b - 1):+.0f}% |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
