"""Reference rows every leaderboard needs: the ``oracle`` upper bound and the ``random`` lower bound."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from disbench.datasets.base import CONTENT
from disbench.errors import DisbenchError
from disbench.methods.base import Method, MethodConfig
from disbench.methods.registry import METHODS
from disbench.methods.representation import Representation


@METHODS.register("oracle")
class OracleMethod(Method):
    """Codes are the true factors, one space per transformation group: the upper-bound row."""

    summary = "true factors as codes, one space per group (upper bound)"
    reads_factors = True

    def encode(self, observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        if factors is None:
            raise DisbenchError("the oracle needs the true factors of the observations it encodes.")
        spaces = {}
        for group in self.dataset.groups:
            columns = self.dataset.group_factor_indices(group)
            if columns:
                name = group if group == CONTENT else f"style:{group}"
                spaces[name] = np.asarray(factors[:, columns], dtype=np.float64)
        return Representation(spaces)


@dataclass
class RandomConfig(MethodConfig):
    """Attributes:
    latent_dim: size of the random encoder's output.
    """

    latent_dim: int = 10

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {self.latent_dim}")


@METHODS.register("random")
class RandomMethod(Method):
    """The default encoder for the data, randomly initialised and never trained: the lower-bound row."""

    Config = RandomConfig
    summary = "untrained default encoder (lower bound)"

    def __init__(self, config: Any, dataset: Any, seed: int, device: str = "cpu") -> None:
        super().__init__(config, dataset, seed, device)
        import torch

        from disbench.methods.nets import build_encoder

        generator_state = torch.get_rng_state()
        torch.manual_seed(seed)
        self.encoder = build_encoder(dataset.observation_shape, config.latent_dim).to(device).eval()
        torch.set_rng_state(generator_state)

    def encode(self, observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        import torch

        with torch.no_grad():
            codes = [
                self.encoder(torch.as_tensor(observations[i : i + 1024], dtype=torch.float32, device=self.device))
                for i in range(0, len(observations), 1024)
            ]
        return Representation({"latent": torch.cat(codes).cpu().numpy().astype(np.float64)})

    def state_dict(self) -> dict[str, Any]:
        return {"encoder": self.encoder.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
