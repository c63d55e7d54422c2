"""Synthetic content/style data (von Kugelgen et al. 2021, generalised to M style groups).

Latents ``z = (content, style_1, ..., style_M)``, each block standard normal, are
mixed into observations ``x = f(z)`` by a frozen random invertible MLP: square,
bias-free linear layers with weights uniform in [-1, 1] and unit-norm columns,
each rejection-sampled to be well conditioned, with LeakyReLU(0.2) between them
(the ``ssl_identifiability`` recipe). The mixing is seeded by the dataset's own
``mixing_seed``, never by the run seed, so every run sees the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disbench.datasets.base import CONTENT, Dataset, DatasetConfig, Factor
from disbench.datasets.registry import DATASETS


@dataclass
class SyntheticConfig(DatasetConfig):
    """Attributes:
    content_dims: dimensions of the content block.
    style_dims: dimensions of each style block.
    num_styles: number of style groups M (each gets its own view pairs).
    mixing_layers: linear layers in the mixing MLP.
    mixing_seed: seed of the frozen mixing function.
    max_condition: largest accepted condition number of each mixing matrix.
    """

    content_dims: int = 3
    style_dims: int = 2
    num_styles: int = 2
    mixing_layers: int = 3
    mixing_seed: int = 0
    max_condition: float = 25.0

    def __post_init__(self) -> None:
        for key in ("content_dims", "style_dims", "num_styles", "mixing_layers"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.max_condition <= 1:
            raise ValueError(f"max_condition must exceed 1, got {self.max_condition}")


def well_conditioned_matrix(dim: int, max_condition: float, rng: np.random.Generator) -> np.ndarray:
    """A ``dim x dim`` matrix, entries uniform in [-1, 1], unit-norm columns, condition <= max_condition."""
    for _ in range(10_000):
        weights = rng.uniform(-1.0, 1.0, size=(dim, dim))
        weights /= np.linalg.norm(weights, axis=0, keepdims=True)
        if np.linalg.cond(weights) <= max_condition:
            return weights
    raise RuntimeError(f"no {dim}x{dim} matrix with condition <= {max_condition} found; raise max_condition")


def leaky_relu(x: np.ndarray, slope: float = 0.2) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


@DATASETS.register("synthetic")
class SyntheticDataset(Dataset):
    """Content + M style latent blocks mixed by a frozen invertible MLP into float vectors."""

    Config = SyntheticConfig
    summary = "Gaussian content/style latents through a frozen invertible MLP (von Kugelgen et al. 2021)"

    def __init__(self, config: SyntheticConfig | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        self.style_groups = [f"group{m + 1}" for m in range(cfg.num_styles)]
        self.factors = [Factor(f"content[{i}]", CONTENT) for i in range(cfg.content_dims)]
        for group in self.style_groups:
            self.factors += [Factor(f"{group}[{i}]", group) for i in range(cfg.style_dims)]
        dim = len(self.factors)
        self.observation_shape = (dim,)
        mixing_rng = np.random.default_rng(cfg.mixing_seed)
        self.mixing = [
            well_conditioned_matrix(dim, cfg.max_condition, mixing_rng) for _ in range(cfg.mixing_layers)
        ]

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, len(self.factors)))

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(factors, dtype=np.float64)
        for layer, weights in enumerate(self.mixing):
            x = x @ weights
            if layer < len(self.mixing) - 1:
                x = leaky_relu(x)
        return x.astype(np.float32)
