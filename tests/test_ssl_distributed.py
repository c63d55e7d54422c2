"""The gradient-preserving all-gather, on two CPU processes (gloo), against one process on the whole batch."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from disbench.methods import ssl_losses as L
from disbench.methods.distributed import gather_examples, mean_over_processes

WORLD = 2


def whole_batch() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.nn.functional.normalize(torch.randn(3, 8, 5, generator=generator), dim=-1)


def _worker(rank: int, init_file: str, results) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        local = whole_batch()[:, rank * 4 : (rank + 1) * 4].clone().requires_grad_(True)
        candidates, offset = gather_examples(local)
        loss = L.infonce_entropy(local, 0.3, candidates, offset)
        loss.backward()
        mean_loss = mean_over_processes(loss.detach())
        results[rank] = (candidates.shape, offset, mean_loss.item(), local.grad.clone())
    finally:
        dist.destroy_process_group()


def test_gathered_entropy_and_gradients_match_one_process(tmp_path):
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_worker, args=(str(tmp_path / "init"), results), nprocs=WORLD, join=True)

    views = whole_batch().requires_grad_(True)
    loss = L.infonce_entropy(views, 0.3)
    loss.backward()
    for rank in range(WORLD):
        shape, offset, mean_loss, grad = results[rank]
        assert tuple(shape) == (3, 8, 5) and offset == rank * 4
        assert mean_loss == pytest.approx(loss.item(), rel=1e-5)
        # each rank receives the summed gradient of every rank's loss; DDP's averaging divides by WORLD
        torch.testing.assert_close(grad / WORLD, views.grad[:, rank * 4 : (rank + 1) * 4])
