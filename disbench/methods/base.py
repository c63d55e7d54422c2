"""The Method contract.

``fit(dataset, steps, context)`` trains (or fits) and checkpoints through the
shared loop; ``encode(observations) -> Representation`` maps observations to named
code spaces. A method's hyperparameters are its ``Config`` dataclass; presets in
``methods/NAME.yaml`` fill it.

Two bases:

- :class:`Method` for methods fitted in one call (``pca``, ``ica``, ``oracle``):
  override :meth:`Method.fit_arrays` and :meth:`Method.encode`.
- :class:`TorchMethod` for methods trained by gradient steps: override
  :meth:`TorchMethod.build`, :meth:`TorchMethod.training_step` and
  :meth:`TorchMethod.encode_batch`; :mod:`disbench.training` owns the loop,
  checkpoints, resumption and the progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from disbench.methods.representation import Representation

if TYPE_CHECKING:  # torch is imported lazily so that `disbench --help` stays instant
    import torch

    from disbench.datasets.base import Dataset
    from disbench.methods.collapse_probe import CollapseProbe


@dataclass
class MethodConfig:
    """Hyperparameters every method has."""


@dataclass
class TrainableConfig(MethodConfig):
    """Hyperparameters of every gradient-trained method.

    Attributes:
        batch_size: examples per step (per process under torchrun).
        lr: Adam learning rate.
        checkpoint_every: steps between checkpoints (and at the end, and on SIGINT/SIGTERM).
        save_at: steps whose checkpoints are kept (``checkpoints/step_N.pt``) and scored by
            ``eval`` beside the final one, for scores over training compute.
    """

    batch_size: int = 64
    lr: float = 1e-3
    checkpoint_every: int = 500
    save_at: tuple[int, ...] = ()

    #: keys a run's id hashes only when set (see config.spec_values)
    recorded_only_when_set: ClassVar[tuple[str, ...]] = ("save_at",)

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2, got {self.batch_size}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, got {self.checkpoint_every}")
        if any(step < 1 for step in self.save_at):
            raise ValueError(f"save_at steps must be positive, got {list(self.save_at)}")
        self.save_at = tuple(sorted(set(self.save_at)))


class Method:
    """Base class of every method; subclasses register with ``@METHODS.register``."""

    Config: ClassVar[type] = MethodConfig
    summary: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    registered_name: ClassVar[str] = ""
    #: whether ``fit`` runs gradient steps (and so takes ``--steps``)
    trainable: ClassVar[bool] = False
    #: the oracle alone reads the true factors at encode time
    reads_factors: ClassVar[bool] = False
    #: datasets the method applies to (None: any dataset); the first is used by registry-wide tests
    applies_to: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, config: Any, dataset: "Dataset", seed: int, device: str = "cpu") -> None:
        self.config = config
        self.dataset = dataset
        self.seed = seed
        self.device = device

    @property
    def name(self) -> str:
        return self.registered_name or type(self).__name__

    def fit_arrays(self, rng: np.random.Generator) -> None:
        """Fit in one call (non-trainable methods). The default has nothing to fit."""

    def encode(self, observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        raise NotImplementedError

    def fitted_sample(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(observations, factors)`` of the points a transductive method was fitted on, which its
        evaluation scores (GeoManCEr); None for methods that encode any observation alike."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """Everything ``encode`` needs, as tensors and plain values (loaded with weights_only=True)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class TorchMethod(Method):
    """A method trained by gradient steps in the shared loop of :mod:`disbench.training`."""

    trainable = True
    Config = TrainableConfig
    #: batch size used by :meth:`encode`
    encode_batch_size: ClassVar[int] = 1024
    #: True when the method synchronises gradients across torchrun processes itself (DDP);
    #: otherwise the shared loop averages them after each backward pass
    synchronises_gradients: ClassVar[bool] = False
    #: config fields (numbers inside the loss) in which the members of a stacked run
    #: (:mod:`disbench.training.stacking`) may differ besides the seed; None: the step cannot be stacked
    stackable: ClassVar[tuple[str, ...] | None] = None
    #: why the step cannot be stacked, for the line shown when such runs train one by one
    unstackable_reason: ClassVar[str] = "its training step is not written as draw_inputs + step_losses"

    def __init__(self, config: Any, dataset: "Dataset", seed: int, device: str = "cpu") -> None:
        super().__init__(config, dataset, seed, device)
        self.model: "torch.nn.Module" = self.build()
        self.model.to(device)

    # --- what each trainable method implements -------------------------------------
    def build(self) -> "torch.nn.Module":
        """All trainable modules as one ``nn.Module`` (moved to the device by the base)."""
        raise NotImplementedError

    def training_step(self, step: int, rng: np.random.Generator) -> dict[str, "torch.Tensor"]:
        """Sample a batch from ``self.dataset`` with ``rng`` and return losses; ``"loss"`` is minimised.

        Other entries are logged (detached) to log.jsonl. A method that can be stacked writes
        its step as :meth:`draw_inputs` then :meth:`step_losses` and keeps this default.
        """
        return self.step_losses(step, self.draw_inputs(step, rng), self.hyperparameters())

    def draw_inputs(
        self, step: int, rng: np.random.Generator, generator: "torch.Generator | None" = None
    ) -> tuple["torch.Tensor", ...]:
        """This step's batch (from ``rng``) and noise (from ``generator``; None: torch's global one)."""
        raise NotImplementedError

    def step_losses(
        self, step: int, inputs: tuple["torch.Tensor", ...], hyper: dict[str, "torch.Tensor"]
    ) -> dict[str, "torch.Tensor"]:
        """Losses of one step from :meth:`draw_inputs`' tensors, touching no state but ``self.model``'s
        parameters and reading the :attr:`stackable` hyperparameters from ``hyper`` only: a stacked
        run calls it under ``torch.func.vmap`` with every member's parameters and values."""
        raise NotImplementedError

    def hyperparameters(self, given: dict[str, "torch.Tensor"] | None = None) -> dict[str, "torch.Tensor"]:
        """``given``, or the :attr:`stackable` config values as float32 tensors on the device."""
        import torch

        if given is not None:
            return given
        return {
            name: torch.tensor(float(getattr(self.config, name)), dtype=torch.float32, device=self.device)
            for name in self.stackable or ()
        }

    def encode_batch(self, observations: "torch.Tensor") -> dict[str, "torch.Tensor"]:
        """Codes for one batch on the device: space name -> ``(B, d)``."""
        raise NotImplementedError

    # --- optional hooks ---------------------------------------------------------------
    def configure_optimizer(self) -> "torch.optim.Optimizer":
        import torch

        return torch.optim.Adam(self.model.parameters(), lr=self.config.lr)

    def before_optimizer_step(self, step: int, logs: dict[str, "torch.Tensor"], lr_scale: float) -> None:
        """Called after backward, before the optimiser step (dual ascent updates live here).

        ``logs`` holds this step's detached losses, still on the device: reading one as a
        number would make the host wait for the device every step.
        """

    def lr_scale(self, step: int, total_steps: int) -> float:
        """Multiplier of the base learning rate at ``step`` (constant by default)."""
        return 1.0

    def collapse_probe(self) -> "CollapseProbe | None":
        """The logged term whose collapsed value marks a collapsed run (None: no such value)."""
        return None

    # --- shared ---------------------------------------------------------------------
    def to_tensor(self, array: np.ndarray) -> "torch.Tensor":
        import torch

        return torch.as_tensor(array, dtype=torch.float32, device=self.device)

    def encode(self, observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        import torch

        was_training = self.model.training
        self.model.eval()
        parts: list[Representation] = []
        with torch.no_grad():
            for start in range(0, len(observations), self.encode_batch_size):
                batch = self.to_tensor(observations[start : start + self.encode_batch_size])
                codes = self.encode_batch(batch)
                parts.append(Representation({k: v.float().cpu().numpy() for k, v in codes.items()}))
        self.model.train(was_training)
        return Representation.concatenate(parts)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
