"""Data pipeline speed: images/s of batch sampling per dataset against one ResNet-18 training step.

For each dataset this times ``dataset.sample(batch)`` (evaluation observations)
and ``dataset.sample_views(batch)`` (a self-supervised batch: query, content key
and one key per group, so (M + 2) x batch images), and compares images/s with
the images/s of one training step (forward, backward, SGD update) of a
torchvision ResNet-18 with a 3x3 stride-1 stem and no max-pool (Eastwood et
al.'s ColorDSprites network) on a batch of 64x64 images, on CPU with all cores.
``ratio`` = sampling images/s / training images/s: above 5, the data pipeline
is never the bottleneck.

Files for datasets without an in-process default are made in a temporary folder
in their released layouts (Shapes3D: a reduced grid, one gzip chunk per image;
an image folder of 10 classes x 20 JPEGs of 160 x 120 pixels), so the numbers
measure our readers, not the user's disk.

The image folder is timed with 1 worker process (decoding and augmenting in this
process) and with more (``--workers``, default 1, 2, 4, 8 up to the usable cores), to
show the JPEG pipeline scaling with its workers.

Run:  PYTHONPATH=. python benchmarks/data.py [--batch 256] [--quick] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np


def images_per_second(produce: Callable[[], int], min_seconds: float = 1.0, min_repeats: int = 3) -> float:
    """Call ``produce`` (returns the images it made) after one warm-up, for at least ``min_seconds``."""
    produce()
    count, repeats, start = 0, 0, time.perf_counter()
    while repeats < min_repeats or time.perf_counter() - start < min_seconds:
        count += produce()
        repeats += 1
    return count / (time.perf_counter() - start)


def resnet18_images_per_second(batch: int, steps: int) -> float:
    """Images/s of ResNet-18 (3x3 stride-1 stem, no max-pool) training steps on 64x64 inputs."""
    import torch
    import torchvision

    torch.set_num_threads(os.cpu_count() or 1)
    model = torchvision.models.resnet18(num_classes=128)
    model.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = torch.nn.Identity()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.rand(batch, 3, 64, 64)

    def step() -> int:
        optimiser.zero_grad(set_to_none=True)
        model(images).pow(2).mean().backward()
        optimiser.step()
        return batch

    return images_per_second(step, min_seconds=0.0, min_repeats=steps)


def make_shapes3d(folder: Path) -> None:
    import h5py

    sizes = (4, 4, 4, 8, 4, 15)
    count = int(np.prod(sizes))
    indices = np.stack(np.unravel_index(np.arange(count), sizes), axis=1)
    labels = indices.astype(np.float64) / np.array(sizes)
    ramp = np.linspace(0, 255, 64, dtype=np.float32)
    with h5py.File(folder / "3dshapes.h5", "w") as handle:
        images = handle.create_dataset("images", shape=(count, 64, 64, 3), dtype=np.uint8,
                                       chunks=(1, 64, 64, 3), compression="gzip", compression_opts=1)
        for start in range(0, count, 4096):
            rows = np.arange(start, min(start + 4096, count))
            shade = (rows[:, None, None, None] % 97) / 97.0
            images[rows[0]:rows[-1] + 1] = (ramp[None, :, None, None] * shade).astype(np.uint8).repeat(64, 2).repeat(3, 3)
        handle.create_dataset("labels", data=labels)


def make_image_folder(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(10):
        (root / f"class{c:02d}").mkdir(parents=True)
        for i in range(20):
            base = rng.integers(0, 256, size=(12, 16, 3)).astype(np.uint8)
            Image.fromarray(base).resize((160, 120), Image.Resampling.BICUBIC).save(root / f"class{c:02d}" / f"{i}.jpg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1, help="timed ResNet-18 steps (after one warm-up step)")
    parser.add_argument("--quick", action="store_true", help="shorter timings")
    parser.add_argument("--workers", help="image-folder worker counts, comma-separated (default 1,2,4,8 up to the cores)")
    parser.add_argument("--only", help="time only this dataset (e.g. imagefolder)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    worker_counts = (
        [int(w) for w in args.workers.split(",")] if args.workers else [w for w in (1, 2, 4, 8) if w == 1 or w <= cores]
    )

    from disbench.datasets import DATASETS
    from disbench.datasets.cache import prepare

    min_seconds = 0.3 if args.quick else 1.5
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "images").mkdir()
        make_shapes3d(folder)
        make_image_folder(folder / "images")
        prepare_seconds = None
        if args.only in (None, "dsprites"):
            start = time.perf_counter()
            prepare("dsprites", folder / "cache")
            prepare_seconds = time.perf_counter() - start

        setups = [
            ("dsprites", "rendered", {"source": "render"}),
            ("dsprites", "cache", {"cache_dir": str(folder / "cache")}),
            ("color-dsprites", "rendered", {"source": "render"}),
            ("color-dsprites-tint", "rendered", {"source": "render"}),
            ("shapes3d", "h5 file", {"data_dir": str(folder)}),
        ] + [
            ("imagefolder", f"JPEG, {w} wkr", {"root": str(folder / "images"), "size": 64, "workers": w})
            for w in worker_counts
        ]
        if args.only:
            setups = [setup for setup in setups if setup[0] == args.only]
        train_rate = resnet18_images_per_second(args.batch, args.steps)
        rows = []
        for name, source, options in setups:
            cls = DATASETS.get(name)
            dataset = cls(cls.Config(**options))
            rng = np.random.default_rng(0)
            sample_rate = images_per_second(lambda: len(dataset.sample(args.batch, rng)[0]), min_seconds)
            views_per_example = 2 + len(dataset.style_groups)
            views_rate = images_per_second(
                lambda: (dataset.sample_views(args.batch, rng), args.batch * views_per_example)[1], min_seconds
            )
            rows.append((name, source, sample_rate, views_rate))

    import torch

    print(f"batch {args.batch}, {cores} usable cores, torch threads {torch.get_num_threads()}; "
          f"ResNet-18 training step: {train_rate:,.0f} images/s ({args.batch / train_rate:.2f} s per step)")
    if prepare_seconds is not None:
        print(f"dSprites render cache written in {prepare_seconds:.1f} s (737,280 images)")
    header = f"{'dataset':<22}{'source':<13}{'sample img/s':>14}{'ratio':>9}{'views img/s':>14}{'ratio':>9}"
    print(header)
    print("-" * len(header))
    for name, source, sample_rate, views_rate in rows:
        print(f"{name:<22}{source:<13}{sample_rate:>14,.0f}{sample_rate / train_rate:>8.0f}x"
              f"{views_rate:>14,.0f}{views_rate / train_rate:>8.0f}x")


if __name__ == "__main__":
    main()
