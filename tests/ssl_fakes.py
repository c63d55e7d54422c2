"""Tiny datasets for the self-supervised method tests."""

from __future__ import annotations

import numpy as np

from disbench.datasets.base import CONTENT, Dataset, Factor


class BlobImages(Dataset):
    """16x16 RGB images of a square: size is content, colour is ``colour``, position is ``position``."""

    def __init__(self, side: int = 16) -> None:
        super().__init__()
        self.side = side
        self.style_groups = ["colour", "position"]
        self.factors = [
            Factor("size", CONTENT, 3),
            Factor("hue", "colour", 4),
            Factor("x", "position", side // 2),
            Factor("y", "position", side // 2),
        ]
        self.observation_shape = (3, side, side)
        self._palette = np.array([[1, 0.2, 0.2], [0.2, 1, 0.2], [0.2, 0.2, 1], [1, 1, 0.2]], dtype=np.float32)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, f.num_values, n) for f in self.factors], axis=1).astype(np.float64)

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        size, hue, x, y = (factors[:, i].astype(int) for i in range(4))
        grid = np.arange(self.side)
        centre_x, centre_y = x * 2 + self.side // 4, y * 2 + self.side // 4
        half = size + 1
        inside_x = np.abs(grid[None, :] - centre_x[:, None] % self.side) <= half[:, None]
        inside_y = np.abs(grid[None, :] - centre_y[:, None] % self.side) <= half[:, None]
        mask = (inside_y[:, :, None] & inside_x[:, None, :]).astype(np.float32)  # (n, H, W)
        return mask[:, None] * self._palette[hue][:, :, None, None]


class NoViews(Dataset):
    """Vector data without transformation groups (so without structured views)."""

    def __init__(self) -> None:
        super().__init__()
        self.factors = [Factor("a", CONTENT)]
        self.observation_shape = (4,)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, 1))

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.repeat(factors, 4, axis=1).astype(np.float32)
