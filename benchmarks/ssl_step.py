"""Time per training step: multispace (M = 2 style groups) against SimCLR at the same image batch.

Multispace forwards M + 2 views per example where SimCLR forwards 2, so the price
of its extra views is (M + 2) / 2 = 2x a SimCLR step; the target is to pay that and
nothing more. Both run in this process on the same random 64x64 images through
the same ResNet-18 (3x3 stride-1 stem, no max-pool); the views come from a
random-tensor stand-in dataset, so data generation costs nothing for either.

    PYTHONPATH=$PWD python benchmarks/ssl_step.py                      # CPU, batch 8
    PYTHONPATH=$PWD python benchmarks/ssl_step.py --device cuda --batch 256 --repeats 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from disbench.config import build_config
from disbench.datasets.base import CONTENT, Dataset, Factor, Views
from disbench.methods import METHODS


class RandomImages(Dataset):
    """Random images with two style groups; every view is a fresh random tensor."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.style_groups = ["group1", "group2"]
        self.factors = [Factor("c", CONTENT, 2), Factor("s1", "group1", 2), Factor("s2", "group2", 2)]
        self.observation_shape = (3, side, side)

    def sample_views(self, n: int, rng: np.random.Generator) -> Views:
        def images() -> np.ndarray:
            return rng.random((n, *self.observation_shape), dtype=np.float32)

        return Views(images(), images(), {g: images() for g in self.style_groups})


def step_timer(name: str, dataset: Dataset, batch: int, device: str):
    """A function running one full training step (views, forward, loss, backward, dual step, optimiser)
    and returning its seconds."""
    cls = METHODS.get(name)
    config = build_config(cls.Config, {"batch_size": batch, "encoder": "resnet18", "embedding_dim": 128,
                                       "projector_hidden": (512,)}, name)
    method = cls(config, dataset, seed=0, device=device)
    optimizer = method.configure_optimizer()
    rng = np.random.default_rng(0)
    step = 0

    def run_step() -> float:
        nonlocal step
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        losses = method.training_step(step, rng)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        method.before_optimizer_step(step, {}, 1.0)
        optimizer.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        step += 1
        return time.perf_counter() - start

    return run_step


def time_interleaved(timers: dict, repeats: int, warmup: int) -> dict[str, float]:
    """Median seconds per step of each method, their steps alternating so that both see the same machine load."""
    times: dict[str, list[float]] = {name: [] for name in timers}
    for round_index in range(warmup + repeats):
        for name, run_step in timers.items():
            seconds = run_step()
            if round_index >= warmup:
                times[name].append(seconds)
    return {name: float(np.median(values)) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=8, help="examples per step (images per view)")
    parser.add_argument("--side", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    dataset = RandomImages(args.side)
    num_groups = len(dataset.style_groups)
    timers = {name: step_timer(name, dataset, args.batch, args.device) for name in ("simclr", "multispace")}
    medians = time_interleaved(timers, args.repeats, args.warmup)
    simclr, multispace = medians["simclr"], medians["multispace"]
    target = (num_groups + 2) / 2
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {device}; batch {args.batch}; {args.side}x{args.side} images; ResNet-18; median of {args.repeats}")
    print(f"| method     | views/example | s/step  | ratio to SimCLR |")
    print(f"|------------|---------------|---------|-----------------|")
    print(f"| simclr     | 2             | {simclr:7.3f} | 1.00            |")
    print(f"| multispace | {num_groups + 2}             | {multispace:7.3f} | {multispace / simclr:4.2f} (target <= {target:.2f}) |")


if __name__ == "__main__":
    main()
