"""Models per hour: N runs trained as one stacked model against the same N runs one by one.

Same process, same threads. For each N both sides train N members of one sweep (seeds
0..N-1, one beta): the stacked side takes ``--steps`` steps of :class:`disbench.stacking.Stack`
(each member's own batch and noise, one vmapped loss, one backward, one Adam step); the
single side takes ``--steps`` steps of one member's own loop (its ``training_step``,
backward, Adam step), which N single runs repeat N times. A step's median over the timed
steps (after ``--warmup`` untimed ones) gives models per hour for a study of ``--study-steps``
steps a model (dlib: 300,000). Data sampling counts on both sides: it is part of a step.

    PYTHONPATH=$PWD python benchmarks/stacked_training.py                     # CPU, N = 1 4 16 64
    PYTHONPATH=$PWD python benchmarks/stacked_training.py --case mlp --compile  # also torch.compile'd stack
    PYTHONPATH=$PWD python benchmarks/stacked_training.py --device cuda --sizes 1 16 64 300

Cases: ``conv`` is dlib's VAE on 64x64 dSprites (rendered, batch 64, 0.69M parameters);
``mlp`` the synthetic data's beta-VAE (MLP 256-256, batch 64).
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

from disbench.runs import build_dataset, build_method, resolve_run_spec
from disbench.stacking import Member, Stack

CASES = {
    "conv": ("beta-vae", "dsprites", {"dataset.source": "render"}),
    "mlp": ("beta-vae", "synthetic", {}),
}


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class _Run:
    """What a Member needs of an open run, without a run folder."""

    def __init__(self, spec, method):
        self.spec, self.method, self.run_dir = spec, method, Path(tempfile.gettempdir())


def members(case: str, n: int, device: str) -> list[Member]:
    method_name, dataset_name, overrides = CASES[case]
    out = []
    for seed in range(n):
        spec = resolve_run_spec(method_name, dataset_name, seed, 1000, overrides)
        method = build_method(spec, build_dataset(spec.dataset, spec.dataset_config), device)
        optimizer = method.configure_optimizer()
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        generator = torch.Generator(device=device).manual_seed(seed)
        out.append(Member(_Run(spec, method), optimizer, np.random.default_rng(seed), generator, 0, None))
    return out


def seconds_per_step(step, steps: int, warmup: int, device: str) -> float:
    for i in range(warmup):
        step(i)
    times = []
    for i in range(warmup, warmup + steps):
        synchronize(device)
        start = time.perf_counter()
        step(i)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def single_step_seconds(case: str, steps: int, warmup: int, device: str) -> float:
    (member,) = members(case, 1, device)
    method, optimizer = member.method, member.optimizer
    method.model.train()

    def step(i: int) -> None:
        losses = method.training_step(i, member.rng)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()

    return seconds_per_step(step, steps, warmup, device)


def stacked_step_seconds(case: str, n: int, steps: int, warmup: int, device: str, compile: bool) -> float:
    stack = Stack(members(case, n, device), compile=compile)
    names: list[str] = []
    return seconds_per_step(lambda i: stack.losses(i, names), steps, warmup, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), nargs="+", default=["conv", "mlp"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--study-steps", type=int, default=300_000, help="steps of one model (dlib: 300,000)")
    parser.add_argument("--compile", action="store_true", help="also time the stacked step under torch.compile")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# device {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
          f"models/hour at {args.study_steps:,} steps a model", file=sys.stderr)
    print("case,N,variant,seconds_per_step,models_per_hour,ratio_to_single")
    for case in args.case:
        single = single_step_seconds(case, args.steps, args.warmup, args.device)
        single_rate = 3600 / (single * args.study_steps)
        print(f"{case},1,single,{single:.4f},{single_rate:.3f},1.00", flush=True)
        variants = [("stacked", False)] + ([("stacked+compile", True)] if args.compile else [])
        for n in args.sizes:
            for name, compile in variants:
                seconds = stacked_step_seconds(case, n, args.steps, args.warmup, args.device, compile)
                rate = 3600 * n / (seconds * args.study_steps)
                print(f"{case},{n},{name},{seconds:.4f},{rate:.3f},{rate / single_rate:.2f}", flush=True)


if __name__ == "__main__":
    main()
