"""The shared loop under torchrun's environment: two CPU processes (gloo) stay in step.

The second test checks the arithmetic of data parallelism, not just agreement: two ranks
that draw different batches and average their gradients must end where one process ends
after the same steps on the union of their batches (equal halves, so the mean loss over the
union has the average of the ranks' gradients). Plain SGD keeps the check sensitive to the
gradient's scale (Adam would hide a sum as almost the same step).
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(rank: int, port: int) -> None:
    import os

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))


def _worker(rank: int, port: int, run_dir: str, results) -> None:
    _environment(rank, port)
    from disbench.training.runs import build_dataset, build_method, resolve_run_spec
    from disbench.training import run_training_loop

    spec = resolve_run_spec("beta-vae", "synthetic", seed=0, steps=5, overrides={"hidden": "16", "batch_size": "8"})
    method = build_method(spec, build_dataset("synthetic"), "cpu")
    try:
        run_training_loop(method, 5, Path(run_dir))
        results[rank] = {k: v.clone() for k, v in method.model.state_dict().items()}
    finally:
        dist.destroy_process_group()


def test_ranks_see_different_data_but_take_the_same_steps(tmp_path):
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_worker, args=(_free_port(), str(tmp_path), results), nprocs=WORLD, join=True)
    for name, value in results[0].items():
        torch.testing.assert_close(value, results[1][name], msg=name)  # gradients were averaged
    assert (tmp_path / "checkpoint.pt").is_file()  # written by rank 0
    steps = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(steps) == 5  # one log, not one per rank


# --- averaged gradients equal one process on the union batch -------------------------------------

SGD_STEPS, SGD_BATCH, SGD_LR = 4, 8, 0.05


def linear_regression_method():
    """A TorchMethod fitting factors from observations by least squares with SGD; records its batches."""
    from disbench.methods.base import TorchMethod, TrainableConfig

    class LinearRegression(TorchMethod):
        Config = TrainableConfig

        def build(self):
            self.batches = []
            torch.manual_seed(0)
            return torch.nn.Linear(self.dataset.observation_shape[0], len(self.dataset.factors))

        def configure_optimizer(self):
            return torch.optim.SGD(self.model.parameters(), lr=self.config.lr)

        def training_step(self, step, rng):
            x, factors = self.dataset.sample(self.config.batch_size, rng)
            self.batches.append((x, factors))
            return {"loss": squared_error(self.model, x, factors)}

        def encode_batch(self, observations):
            return {"latent": self.model(observations)}

    return LinearRegression


def squared_error(model, x, factors):
    prediction = model(torch.as_tensor(x, dtype=torch.float32))
    return (prediction - torch.as_tensor(factors, dtype=torch.float32)).pow(2).mean()


def _sgd_worker(rank: int, port: int, run_dir: str, results) -> None:
    _environment(rank, port)
    from disbench.datasets.synthetic import SyntheticDataset
    from disbench.methods.base import TrainableConfig
    from disbench.training import run_training_loop

    method = linear_regression_method()(TrainableConfig(batch_size=SGD_BATCH, lr=SGD_LR), SyntheticDataset(), seed=0)
    try:
        run_training_loop(method, SGD_STEPS, Path(run_dir))
        results[rank] = {"state": {k: v.clone() for k, v in method.model.state_dict().items()}, "batches": method.batches}
    finally:
        dist.destroy_process_group()


def test_two_ranks_equal_one_process_on_the_union_batch(tmp_path):
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_sgd_worker, args=(_free_port(), str(tmp_path), results), nprocs=WORLD, join=True)
    ranks = [results[0], results[1]]
    assert len(ranks[0]["batches"]) == SGD_STEPS
    for (x0, _), (x1, _) in zip(ranks[0]["batches"], ranks[1]["batches"]):
        assert not np.allclose(x0, x1)  # each rank drew its own data
    # one process, the same initial weights, each step on the union of both ranks' batches
    torch.manual_seed(0)
    reference = torch.nn.Linear(*ranks[0]["state"]["weight"].shape[::-1])
    initial = reference.weight.detach().clone()
    optimizer = torch.optim.SGD(reference.parameters(), lr=SGD_LR)
    for (x0, f0), (x1, f1) in zip(ranks[0]["batches"], ranks[1]["batches"]):
        optimizer.zero_grad()
        squared_error(reference, np.concatenate([x0, x1]), np.concatenate([f0, f1])).backward()
        optimizer.step()
    for rank in ranks:
        torch.testing.assert_close(rank["state"]["weight"], reference.weight.detach(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(rank["state"]["bias"], reference.bias.detach(), rtol=1e-5, atol=1e-6)
    assert (reference.weight.detach() - initial).abs().max() > 1e-2  # the steps moved the weights
