"""LARS (You et al. 2017), the optimiser of large-batch self-supervised training.

SGD with momentum whose step for each weight matrix is rescaled by the trust ratio
``eta * ||w|| / ||g + wd * w||``. Biases and normalisation parameters (1-D tensors)
get neither weight decay nor the trust ratio, as in the VICReg and Eastwood et al.
training scripts.
"""

from __future__ import annotations

from typing import Iterable

import torch


class LARS(torch.optim.Optimizer):
    """Layer-wise adaptive rate scaling over SGD with momentum.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (the scripts use ``base_lr * batch / 256``).
        weight_decay: L2 penalty for weight matrices.
        momentum: heavy-ball momentum.
        trust_coefficient: eta in the trust ratio.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        trust_coefficient: float = 0.001,
    ) -> None:
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, trust_coefficient=trust_coefficient)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                update = param.grad
                if param.ndim > 1:  # weights only: biases and norm parameters are left unscaled
                    update = update.add(param, alpha=group["weight_decay"])
                    param_norm = torch.norm(param)
                    update_norm = torch.norm(update)
                    trust = torch.where(
                        (param_norm > 0) & (update_norm > 0),
                        group["trust_coefficient"] * param_norm / update_norm,
                        torch.ones_like(param_norm),
                    )
                    update = update.mul(trust)
                state = self.state[param]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(param)
                buffer = state["momentum_buffer"]
                buffer.mul_(group["momentum"]).add_(update)
                param.add_(buffer, alpha=-group["lr"])
        return None
