"""Shared machinery of the self-supervised methods (``multispace``, ``simclr``, ``vicreg``).

One model, ``projector(backbone(x))``; each method picks its views from the
dataset's structured views and turns the stacked embeddings into a loss. The base
class owns what they share:

- the backbone chosen by the data: an MLP for vectors, torchvision's ResNet-18 with
  a 3x3 stride-1 stem and no max-pool for images up to 96 pixels, ResNet-50 above
  (or a four-convolution encoder, for CPU budgets);
- the projector: Linear-BatchNorm-ReLU hidden layers, then a bias-free Linear;
- one forward pass over all views at once (``(V * B, ...)``), under bfloat16
  autocast on CUDA; the losses run in float32;
- torchrun: SyncBatchNorm when launched with several processes, the model wrapped
  in DistributedDataParallel on the first step, embeddings all-gathered (with
  gradients) for the entropy terms; the shared loop lets rank 0 alone write;
- Adam/AdamW or LARS, warm-up then cosine decay of the learning rate to
  ``end_lr_ratio`` of its peak.

Launch lines (see docs/ssl.md)::

    disbench train --method multispace --dataset synthetic
    torchrun --nproc_per_node 4 -m disbench train --method multispace --dataset color-dsprites --device cuda
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from disbench.errors import UsageError
from disbench.lazy import lazy_module
from disbench.methods.base import TorchMethod, TrainableConfig
from disbench.methods import distributed
from disbench.methods.collapse_probe import CollapseProbe
from disbench.methods.schedules import cosine_lr_scale

if TYPE_CHECKING:
    import torch
    from torch import nn

    from disbench.methods import lars, nets
else:  # imported on first use: registering the methods and resolving their configs needs no torch
    torch = lazy_module("torch")
    nn = lazy_module("torch.nn")
    lars = lazy_module("disbench.methods.lars")
    nets = lazy_module("disbench.methods.nets")

#: images at most this many pixels wide get the small-image ResNet-18 (ImageNet-size ones ResNet-50)
SMALL_IMAGE_SIDE = 96
#: the reference's cosine schedules end at this fraction of their peak (``--end-lr-ratio`` of main.py)
END_LR_RATIO = 1e-3


@dataclass
class SSLConfig(TrainableConfig):
    """Hyperparameters shared by the self-supervised methods.

    Attributes:
        encoder: backbone: ``auto`` (MLP for vectors, ResNet-18 for images up to 96
            pixels, ResNet-50 above), ``mlp``, ``small-conv`` (four convolutions with
            PyTorch's initialisation: the CPU budgets' encoder), ``conv`` (dlib's VAE
            encoder, TF initialisation), ``resnet18`` or ``resnet50``.
        encoder_hidden: hidden widths of the MLP backbone.
        representation_dim: output width of the MLP and conv backbones (ResNets: 512 / 2048).
        projector_hidden: widths of the projector's Linear-BatchNorm-ReLU layers.
        embedding_dim: projector output size D (split into spaces by ``multispace``).
        optimizer: ``adam``, ``adamw`` or ``lars`` (the paper's, with lr = base lr x batch / 256).
        weight_decay: weight decay (the paper: 1e-6 with LARS).
        lr_schedule: ``cosine`` (after ``warmup_steps`` of linear warm-up) or ``constant``.
        warmup_steps: linear warm-up steps of the learning rate.
        end_lr_ratio: where the cosine decay ends, as a fraction of the peak; the
            multipliers' step size of ``multispace`` ends there too (the reference's
            ``--end-lr-ratio``, 0.001).
        mixed_precision: bfloat16 autocast on CUDA (ignored on CPU).
    """

    encoder: Literal["auto", "mlp", "small-conv", "conv", "resnet18", "resnet50"] = "auto"
    encoder_hidden: tuple[int, ...] = (256, 256)
    representation_dim: int = 64
    projector_hidden: tuple[int, ...] = (256,)
    embedding_dim: int = 16
    optimizer: Literal["adam", "adamw", "lars"] = "adam"
    weight_decay: float = 0.0
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    warmup_steps: int = 0
    end_lr_ratio: float = END_LR_RATIO
    mixed_precision: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.embedding_dim < 1 or self.representation_dim < 1:
            raise ValueError("embedding_dim and representation_dim must be at least 1")
        if any(width < 1 for width in (*self.encoder_hidden, *self.projector_hidden)):
            raise ValueError("encoder_hidden and projector_hidden widths must be at least 1")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if not 0.0 <= self.end_lr_ratio <= 1.0:
            raise ValueError(f"end_lr_ratio must be in [0, 1] (a fraction of the peak), got {self.end_lr_ratio}")


def check_temperature(temperature: float) -> None:
    if not 0.0 < temperature <= 10.0:
        raise ValueError(
            f"temperature must be in (0, 10], got {temperature}; the papers use 0.1-1 (SimCLR: 0.15 on ColorDSprites)"
        )


def build_backbone(config: SSLConfig, observation_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """The backbone for this data shape and its output width."""
    choice = config.encoder
    if choice == "auto":
        if not nets.is_image(observation_shape):
            choice = "mlp"
        else:
            choice = "resnet18" if max(observation_shape[1:]) <= SMALL_IMAGE_SIDE else "resnet50"
    if choice == "mlp":
        if len(observation_shape) != 1:
            raise UsageError(
                f"encoder 'mlp' needs vector observations, got shape {observation_shape}; use encoder=resnet18 or conv."
            )
        return nets.mlp([observation_shape[0], *config.encoder_hidden, config.representation_dim]), config.representation_dim
    if not nets.is_image(observation_shape):
        raise UsageError(f"encoder {choice!r} needs images (C, H, W), got shape {observation_shape}; use encoder=mlp.")
    channels, height, _ = observation_shape
    if choice == "conv":
        return nets.ConvEncoder(channels, height, config.representation_dim), config.representation_dim
    if choice == "small-conv":
        return nets.SmallConvEncoder(channels, height, config.representation_dim), config.representation_dim
    depth = 18 if choice == "resnet18" else 50
    return nets.resnet_backbone(depth, channels, small_images=max(observation_shape[1:]) <= SMALL_IMAGE_SIDE)


class SSLMethod(TorchMethod):
    """Base of the self-supervised methods: subclasses define :meth:`views` and :meth:`loss`."""

    Config = SSLConfig
    synchronises_gradients = True  # DistributedDataParallel, see forward_model
    #: the logged term that sits at a known value when every embedding is the same point
    collapse_key = "loss"

    def build(self) -> nn.Module:
        if not self.dataset.has_views:
            raise UsageError(
                f"method {self.name!r} trains on structured views, and dataset {self.dataset.name!r} has none "
                "(no transformation groups); pick a dataset with style groups (disbench list datasets)."
            )
        with torch.random.fork_rng(devices=[]):  # initial weights depend on the run seed alone
            torch.manual_seed(self.seed)
            backbone, width = build_backbone(self.config, tuple(self.dataset.observation_shape))
            model = nets.SSLModel(backbone, nets.projector(width, self.config.projector_hidden, self.config.embedding_dim))
        self.distributed = distributed.distributed_info()
        if self.distributed.enabled:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self._parallel: nn.Module | None = None
        return model

    # --- what each self-supervised method defines ---------------------------------------
    def views(self, rng: np.random.Generator) -> list[np.ndarray]:
        """The views of one batch, each ``(B, *observation_shape)``; view 0 is the query."""
        raise NotImplementedError

    @property
    def view_count(self) -> int:
        """How many views :meth:`views` returns."""
        raise NotImplementedError

    def loss(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        """Losses from float32 embeddings ``(V, B, D)``; ``"loss"`` is minimised, the rest logged."""
        raise NotImplementedError

    def collapse_probe(self) -> CollapseProbe:
        """:attr:`collapse_key` and its value when all ``V x B`` embeddings are identical (this method's own loss)."""
        identical = torch.ones(self.view_count, self.config.batch_size, self.config.embedding_dim, device=self.device)
        with torch.no_grad():
            value = self.loss(identical)[self.collapse_key]
        return CollapseProbe(self.collapse_key, float(value))

    # --- shared ---------------------------------------------------------------------------
    @property
    def uses_autocast(self) -> bool:
        return self.config.mixed_precision and str(self.device).startswith("cuda")

    def forward_model(self) -> nn.Module:
        """The model to call in training: wrapped in DDP under torchrun (wrapped lazily, once the group exists)."""
        if not self.distributed.enabled:
            return self.model
        if self._parallel is None:
            from torch.nn.parallel import DistributedDataParallel

            device_ids = [torch.device(self.device).index or 0] if str(self.device).startswith("cuda") else None
            self._parallel = DistributedDataParallel(self.model, device_ids=device_ids)
        return self._parallel

    def embed(self, observations: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """Projector outputs as float32, ``(n, *obs) -> (n, D)``."""
        model = model or self.model
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.uses_autocast):
            return model(observations).float()

    def training_step(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        views = self.views(rng)
        batch = len(views[0])
        stacked = self.to_tensor(np.concatenate(views))  # one pass: BatchNorm sees all views together
        embeddings = self.embed(stacked, self.forward_model()).view(len(views), batch, -1)
        return self.loss(embeddings)

    def gather(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, int]:
        """All processes' embeddings ``(V, N, D)`` and this process's offset (see :mod:`.distributed`)."""
        return distributed.gather_examples(embeddings)

    @property
    def global_batch(self) -> int:
        return self.config.batch_size * self.distributed.world_size

    def configure_optimizer(self) -> torch.optim.Optimizer:
        params = self.model.parameters()
        cfg = self.config
        if cfg.optimizer == "lars":
            return lars.LARS(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def lr_scale(self, step: int, total_steps: int) -> float:
        if self.config.lr_schedule == "constant":
            return min(1.0, (step + 1) / self.config.warmup_steps) if self.config.warmup_steps else 1.0
        return cosine_lr_scale(step, total_steps, self.config.warmup_steps, self.config.end_lr_ratio)

    def encode_batch(self, observations: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.spaces(self.embed(observations))

    def spaces(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named code spaces from projector outputs ``(n, D)``."""
        raise NotImplementedError


@dataclass
class TwoViewConfig(SSLConfig):
    """Attributes:
    encode_layer: codes from the ``projector`` output (the space the loss shapes) or the
        ``backbone`` features (the layer linear-probe papers evaluate).
    """

    encode_layer: Literal["projector", "backbone"] = "projector"


class TwoViewMethod(SSLMethod):
    """SimCLR and VICReg: query and content key, one ``latent`` space."""

    view_count = 2

    def views(self, rng: np.random.Generator) -> list[np.ndarray]:
        views = self.dataset.sample_views(self.config.batch_size, rng)
        return [views.query, views.content_key]

    def encode_batch(self, observations: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.config.encode_layer == "backbone":
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.uses_autocast):
                return {"latent": self.model.backbone(observations).float()}
        return self.spaces(self.embed(observations))
