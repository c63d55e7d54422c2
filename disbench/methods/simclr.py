"""SimCLR (Chen et al. 2020): one space, two views, NT-Xent.

The loss is the SimCLR baseline of Eastwood et al. 2023 by default: the denominator
holds only views of other images (``denominator=textbook`` keeps the positive in it,
as Chen et al. write it). The two views are the query and the content key of the
dataset's structured views: every augmentation group redrawn between them, the
standard two-view setup. Codes
(``latent``) are the L2-normalised projector outputs, the space the loss shapes and
the one the multi-space method's slices are compared with; ``encode_layer=backbone``
returns the backbone features instead (what linear-probe papers evaluate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from disbench.lazy import lazy_module
from disbench.methods.registry import METHODS
from disbench.methods.ssl import TwoViewConfig, TwoViewMethod, check_temperature

if TYPE_CHECKING:
    import torch
    import torch.nn.functional as F

    from disbench.methods import ssl_losses as L
else:  # imported on first use: registering the method and resolving its config needs no torch
    torch = lazy_module("torch")
    F = lazy_module("torch.nn.functional")
    L = lazy_module("disbench.methods.ssl_losses")


@dataclass
class SimCLRConfig(TwoViewConfig):
    """Attributes:
    temperature: tau of NT-Xent (Eastwood et al. on ColorDSprites: 0.15).
    denominator: ``negatives`` (the reference SimCLR of Eastwood et al.: every view of the
        anchor's image left out of the softmax's denominator) or ``textbook`` (Chen et al.
        2020: only the anchor itself left out, the positive kept); see :func:`.ssl_losses.nt_xent`.
    """

    temperature: float = 0.1
    denominator: Literal["negatives", "textbook"] = "negatives"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_temperature(self.temperature)


@METHODS.register("simclr")
class SimCLR(TwoViewMethod):
    """Contrastive learning with the NT-Xent loss on two augmented views."""

    Config = SimCLRConfig
    summary = "SimCLR: two views, NT-Xent contrastive loss (one space)"
    reference = "Chen et al. 2020, A Simple Framework for Contrastive Learning of Visual Representations"

    def loss(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        unit = F.normalize(embeddings, dim=-1)
        candidates, offset = self.gather(unit)
        loss = L.nt_xent(unit, self.config.temperature, candidates, offset, self.config.denominator)
        return {"loss": loss, "violation": L.cosine_violation(unit[0], unit[1])}

    def spaces(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"latent": F.normalize(embeddings, dim=-1)}
