"""VICReg (Bardes et al. 2022): one space, two views, invariance + variance + covariance.

Views as for SimCLR (query and content key). Codes (``latent``) are the projector
outputs; ``encode_layer=backbone`` returns the backbone features instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from disbench.lazy import lazy_module
from disbench.methods.registry import METHODS
from disbench.methods.ssl import TwoViewConfig, TwoViewMethod

if TYPE_CHECKING:
    import torch

    from disbench.methods import ssl_losses as L
else:  # imported on first use: registering the method and resolving its config needs no torch
    torch = lazy_module("torch")
    L = lazy_module("disbench.methods.ssl_losses")


@dataclass
class VICRegConfig(TwoViewConfig):
    """Attributes:
    invariance_weight, variance_weight, covariance_weight: lambda, mu, nu (25, 25, 1).
    """

    invariance_weight: float = 25.0
    variance_weight: float = 25.0
    covariance_weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.invariance_weight, self.variance_weight, self.covariance_weight) < 0:
            raise ValueError("invariance_weight, variance_weight and covariance_weight must be >= 0")


@METHODS.register("vicreg")
class VICReg(TwoViewMethod):
    """Variance-invariance-covariance regularised embeddings of two views."""

    Config = VICRegConfig
    collapse_key = "variance"
    summary = "VICReg: two views, invariance + variance + covariance (one space)"
    reference = "Bardes et al. 2022, VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning"

    def loss(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        gathered, _ = self.gather(embeddings)
        cfg = self.config
        return L.vicreg_loss(
            embeddings[0], embeddings[1], cfg.invariance_weight, cfg.variance_weight, cfg.covariance_weight, gathered
        )

    def spaces(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"latent": embeddings}
