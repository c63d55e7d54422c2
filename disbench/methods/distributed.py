"""Collective operations the self-supervised losses need under torchrun.

Contrastive and VICReg-style entropy terms compare every embedding with every other
embedding of the *global* batch, so each process all-gathers the embeddings of the
others. The gather must keep gradients: :class:`GatherWithGradient` sums the
gradients that every process's loss sends to a slice and hands each process the
gradient of its own slice (FAIR's ``FullGatherLayer``). DistributedDataParallel then
averages parameter gradients, which gives the gradient of the mean loss.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class GatherWithGradient(torch.autograd.Function):
    """All-gather along a new leading axis; backward all-reduces and returns this rank's slice."""

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


def gather_examples(views: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Embeddings of every process, concatenated along the example axis.

    Args:
        views: ``(V, B, D)`` embeddings of this process.

    Returns:
        ``(V, W * B, D)`` (the input itself without torchrun) and the offset ``rank * B``
        of this process's first example.
    """
    if not is_distributed():
        return views, 0
    gathered = GatherWithGradient.apply(views)  # (W, V, B, D)
    world, num_views, local, dim = gathered.shape
    return gathered.permute(1, 0, 2, 3).reshape(num_views, world * local, dim), dist.get_rank() * local


def mean_over_processes(values: torch.Tensor) -> torch.Tensor:
    """Average of a detached tensor over processes (so every rank takes the same dual step)."""
    if not is_distributed():
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / dist.get_world_size()
