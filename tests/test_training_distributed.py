"""The shared loop under torchrun's environment: two CPU processes (gloo) stay in step."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _worker(rank: int, port: int, run_dir: str, results) -> None:
    import os

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from disbench.runs import build_dataset, build_method, resolve_run_spec
    from disbench.training import train

    spec = resolve_run_spec("beta-vae", "synthetic", seed=0, steps=5, overrides={"hidden": "16", "batch_size": "8"})
    method = build_method(spec, build_dataset("synthetic"), "cpu")
    try:
        train(method, 5, Path(run_dir))
        results[rank] = {k: v.clone() for k, v in method.model.state_dict().items()}
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_ranks_see_different_data_but_take_the_same_steps(tmp_path):
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_worker, args=(_free_port(), str(tmp_path), results), nprocs=WORLD, join=True)
    for name, value in results[0].items():
        torch.testing.assert_close(value, results[1][name], msg=name)  # gradients were averaged
    assert (tmp_path / "checkpoint.pt").is_file()  # written by rank 0
    steps = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(steps) == 5  # one log, not one per rank
