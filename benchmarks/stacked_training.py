"""Models per hour: N runs trained as one stacked model against the same N runs one by one.

Same process, same threads. For each N the stacked side takes steps of
:class:`disbench.training.stacking.Stack` over N members (seeds 0..N-1; each member's own batch and
noise, one vmapped loss, one backward, one Adam step); the single side takes steps of one
member's own loop (its ``training_step``, backward, Adam step), which N single runs repeat N
times. The two are timed in turn, step by step (``--steps`` timed after ``--warmup``), so that
a changing load on a shared machine slows both alike; the medians give models per hour for a
study of ``--study-steps`` steps a model (dlib: 300,000). Data sampling counts on both sides.

    PYTHONPATH=$PWD python benchmarks/stacked_training.py                     # CPU, N = 1 4 16 64
    PYTHONPATH=$PWD python benchmarks/stacked_training.py --case mlp --compile  # also torch.compile'd stack
    PYTHONPATH=$PWD python benchmarks/stacked_training.py --device cuda --sizes 1 16 64 300

Cases: ``conv`` is dlib's VAE on 64x64 dSprites (rendered, batch 64, 0.69M parameters);
``mlp`` the synthetic data's beta-VAE (MLP 256-256, batch 64); ``factor-conv`` and
``factor-mlp`` the same networks as FactorVAE, with dlib's discriminator (6 hidden layers of
1,000, 5.0M parameters) stacked beside them in its own Adam group.
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

from disbench.training.runs import build_dataset, build_method, resolve_run_spec
from disbench.training.stacking import Member, Stack

CASES = {
    "conv": ("beta-vae", "dsprites", {"dataset.source": "render"}),
    "mlp": ("beta-vae", "synthetic", {}),
    "factor-conv": ("factor-vae", "dsprites", {"dataset.source": "render"}),
    "factor-mlp": ("factor-vae", "synthetic", {}),
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


def single_step(case: str, device: str):
    """One member's own step (batch, loss, backward, Adam), as its single run takes it."""
    (member,) = members(case, 1, device)
    method, optimizer = member.method, member.optimizer
    method.model.train()

    def step(i: int) -> None:
        losses = method.training_step(i, member.rng)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()

    return step


def stacked_step(case: str, n: int, device: str, compile: bool):
    stack = Stack(members(case, n, device), compile=compile)
    names: list[str] = []
    return lambda i: stack.losses(i, names)


def interleaved_medians(steps: dict, repeats: int, warmup: int, device: str) -> dict[str, float]:
    """Median seconds of each step function, timed in turn so that a changing load slows all alike."""
    for i in range(warmup):
        for step in steps.values():
            step(i)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for i in range(warmup, warmup + repeats):
        for name, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            step(i)
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), nargs="+", default=["conv", "mlp", "factor-conv", "factor-mlp"])
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
    print("case,N,variant,seconds_per_step,single_seconds_per_step,models_per_hour,ratio_to_single")
    for case in args.case:
        for n in args.sizes:
            steps = {"single": single_step(case, args.device), "stacked": stacked_step(case, n, args.device, False)}
            if args.compile:
                steps["stacked+compile"] = stacked_step(case, n, args.device, True)
            medians = interleaved_medians(steps, args.steps, args.warmup, args.device)
            single_rate = 3600 / (medians["single"] * args.study_steps)
            for name in steps:
                if name != "single":
                    rate = 3600 * n / (medians[name] * args.study_steps)
                    print(f"{case},{n},{name},{medians[name]:.4f},{medians['single']:.4f},{rate:.3f},"
                          f"{rate / single_rate:.2f}", flush=True)

if __name__ == "__main__":
    main()
