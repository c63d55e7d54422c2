"""A small study to render as an HTML report: two methods x two configurations x three seeds, three metrics
at two checkpoints, an oracle row, and a run folder with traversals and reconstructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from leaderboards import scored, write_leaderboard

METHODS = {"beta-vae": [{"beta": 1.0}, {"beta": 8.0}], "factor-vae": [{"gamma": 10.0}, {"gamma": 100.0}]}
METRICS = {"mig": True, "sap": True, "unsupervised.mutual_info": False}
CHECKPOINTS = (100, 1000)


def study_records() -> list[dict]:
    rng = np.random.default_rng(0)
    records = []
    for method, configs in METHODS.items():
        for c, config in enumerate(configs):
            for seed in range(3):
                for steps in CHECKPOINTS:
                    for metric, higher in METRICS.items():
                        value = float(rng.uniform(0.05, 0.9)) * (1 if steps == CHECKPOINTS[-1] else 0.5)
                        record = scored(method, seed, value, config, metric=metric, steps=steps, higher=higher, dataset="dsprites")
                        record.update(device="cpu (test, 2 cores)", data_source="rendered in-process", disbench_version="0.2.0")
                        records.append(record)
    oracle = scored("oracle", 0, 0.99, dataset="dsprites")
    oracle.update(device="cpu (test, 2 cores)", data_source="rendered in-process")
    records.append(oracle)
    return records


def png(path: Path, size: tuple[int, int] = (40, 30), noise: bool = False) -> Path:
    """A real PNG file; ``noise`` makes it compress badly (a large file)."""
    from PIL import Image

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8) if noise else np.full((size[1], size[0], 3), 200, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def write_study(folder: Path) -> tuple[Path, Path, list[dict]]:
    """The leaderboard, a runs folder whose first beta-VAE run has traversals and reconstructions, and the records."""
    records = study_records()
    leaderboard = write_leaderboard(folder / "leaderboard.csv", records)
    runs = folder / "runs"
    first = next(r["run_id"] for r in records if r["method"] == "beta-vae" and r["seed"] == 0)
    png(runs / first / "traversals.png", (60, 80))
    png(runs / first / "reconstructions.png", (80, 20))
    return leaderboard, runs, records
