"""Running under torchrun: which process this is, joining the group, and the collectives.

``torchrun`` sets RANK, LOCAL_RANK and WORLD_SIZE; each rank seeds with ``seed + rank``,
takes its own batch, and only rank 0 writes. The training loop averages parameter
gradients over the ranks (:func:`average_gradients`) unless the method synchronises them
itself (DistributedDataParallel).

Contrastive and VICReg-style entropy terms compare every embedding with every other
embedding of the *global* batch, so each process all-gathers the embeddings of the
others. The gather must keep gradients: the gather's backward sums the gradients that
every process's loss sends to a slice and hands each process the gradient of its own
slice (FAIR's ``FullGatherLayer``). Averaging parameter gradients then gives the
gradient of the mean loss.

torch is imported on first use: reading the environment needs none.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DistributedInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1



def distributed_info() -> DistributedInfo:
    """Distributed mode as ``torchrun`` describes it in the environment."""
    return DistributedInfo(
        rank=int(os.environ.get("RANK", 0)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
    )



def init_distributed(device: str) -> DistributedInfo:
    """Join the process group when launched by torchrun (no-op otherwise)."""
    info = distributed_info()
    if info.enabled:
        import torch
        import torch.distributed as dist

        if device.startswith("cuda"):
            torch.cuda.set_device(info.local_rank)  # resolve_device already picked cuda:LOCAL_RANK

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return info



def average_gradients(model: Any, world_size: int) -> None:
    """Average every gradient over the torchrun processes, so that all ranks take the same step."""
    import torch.distributed as dist

    for parameter in model.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad)
            parameter.grad /= world_size



def is_distributed() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@functools.cache
def _gather_with_gradient() -> Any:
    """The autograd function of the gather: all-gather along a new leading axis; backward
    all-reduces and returns this rank's slice."""
    import torch
    import torch.distributed as dist

    class GatherWithGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            gathered = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
            dist.all_gather(gathered, tensor.contiguous())
            return torch.stack(gathered)

        @staticmethod
        def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            grad = grad.contiguous()
            dist.all_reduce(grad)
            return grad[dist.get_rank()]

    return GatherWithGradient


def gather_examples(views: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Embeddings of every process, concatenated along the example axis.

    Args:
        views: ``(V, B, D)`` embeddings of this process.

    Returns:
        ``(V, W * B, D)`` (the input itself without torchrun) and the offset ``rank * B``
        of this process's first example.
    """
    import torch.distributed as dist

    if not is_distributed():
        return views, 0
    gathered = _gather_with_gradient().apply(views)  # (W, V, B, D)
    world, num_views, local, dim = gathered.shape
    return gathered.permute(1, 0, 2, 3).reshape(num_views, world * local, dim), dist.get_rank() * local


def mean_over_processes(values: torch.Tensor) -> torch.Tensor:
    """Average of a detached tensor over processes (so every rank takes the same dual step)."""
    import torch.distributed as dist

    if not is_distributed():
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / dist.get_world_size()
