"""R^2: the reference protocol (default) against the quick suite's cheaper variant, on synthetic codes.

Codes are a fixed nonlinear function of the content half of 10 standard-normal latents
(5 content, 5 style, as von Kugelgen et al.'s synthetic data) plus a little noise, so the
kernel R^2 of content sits below 1 and of style near 0. Both settings draw the same fresh
points (``MetricInput.draw``); they differ only in the kernel ridge's fit points:
all 20,480 (the reference) or a seeded subset of 2,000 (``kernel_max_samples=2000``).
Prints per-group kernel and linear R^2 of each setting, their difference and the seconds.

    PYTHONPATH=$PWD python benchmarks/r2_protocol.py
    PYTHONPATH=$PWD python benchmarks/r2_protocol.py --num-fit 6000   # smaller, same comparison
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from disbench.datasets.base import Factor  # noqa: E402
from disbench.metrics.base import MetricInput  # noqa: E402
from disbench.metrics.r2 import FAST_KERNEL_SAMPLES, R2Options, compute_r2  # noqa: E402


def synthetic_draw(seed: int = 0):
    """``draw(n, rng)``: codes of a fixed random tanh network of the 5 content latents, and all 10 latents."""
    weights = np.random.default_rng(seed)
    first, second = weights.normal(size=(5, 32)), weights.normal(size=(32, 10)) / np.sqrt(32)

    def draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        latents = rng.standard_normal((n, 10))
        codes = np.tanh(np.tanh(latents[:, :5] @ first) @ second) + 0.05 * rng.standard_normal((n, 10))
        return codes, latents

    return draw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-fit", type=int, default=R2Options.num_fit)
    args = parser.parse_args()
    draw = synthetic_draw()
    info = [Factor(f"c{i}", "content") for i in range(5)] + [Factor(f"s{i}", "style") for i in range(5)]
    placeholder = draw(30, np.random.default_rng(99))  # the given split, unused with fresh points
    data = MetricInput(placeholder[0], placeholder[1], info, draw=draw)
    results = {}
    for name, options in (
        ("reference", R2Options(num_fit=args.num_fit)),
        (f"kernel_max_samples={FAST_KERNEL_SAMPLES}", R2Options(num_fit=args.num_fit, kernel_max_samples=FAST_KERNEL_SAMPLES)),
    ):
        started = time.perf_counter()
        result = compute_r2(data, options, np.random.default_rng(0))
        seconds = time.perf_counter() - started
        results[name] = result.details["group_mean"]
        print(f"{name}: fit {result.details['fit_samples']}, kernel {result.details['kernel_samples']}, "
              f"{seconds:.1f} s, chosen {sorted({tuple(c) for c in result.details['kernel_alpha_gamma']})}", flush=True)
        for kind in ("r2.kernel", "r2.linear"):
            print(f"  {kind}: " + ", ".join(f"{g} {v:.4f}" for g, v in results[name][kind].items()), flush=True)
    reference, fast = results.values()
    for group in ("content", "style"):
        print(f"difference (reference - fast) kernel R^2 {group}: {reference['r2.kernel'][group] - fast['r2.kernel'][group]:+.4f}")


if __name__ == "__main__":
    main()
