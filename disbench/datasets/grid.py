"""Datasets whose factors form a full grid of discrete values (dSprites, Shapes3D).

Factor vectors are integer indices, one column per factor; a released file
stores the grid in row-major order (the last factor varies fastest), so the row
of a factor vector is its mixed-radix number (``np.ravel_multi_index``).
"""

from __future__ import annotations

import numpy as np

from disbench.datasets.base import Dataset
from disbench.errors import UsageError


class FactorGridDataset(Dataset):
    """A dataset over the full grid of its discrete factors; draws indices uniformly."""

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return tuple(int(f.num_values) for f in self.factors)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor index vectors drawn uniformly over the grid, shape ``(n, F)`` int64."""
        return rng.integers(0, self.factor_sizes, size=(n, len(self.factors)), dtype=np.int64)

    def check_factors(self, factors: np.ndarray) -> np.ndarray:
        """``factors`` as int64 ``(n, F)`` indices inside the grid.

        Raises:
            UsageError: wrong shape, non-integer values, or an index outside its factor's range.
        """
        array = np.asarray(factors)
        if array.ndim != 2 or array.shape[1] != len(self.factors):
            raise UsageError(
                f"dataset {self.name!r} expects factor indices of shape (n, {len(self.factors)}), "
                f"got {array.shape}."
            )
        indices = array.astype(np.int64)
        if not np.array_equal(indices, array):
            raise UsageError(f"dataset {self.name!r} expects integer factor indices.")
        bad = (indices < 0) | (indices >= np.asarray(self.factor_sizes))
        if bad.any():
            column = int(np.nonzero(bad.any(axis=0))[0][0])
            factor = self.factors[column]
            raise UsageError(
                f"factor {factor.name!r} of dataset {self.name!r} takes indices 0..{factor.num_values - 1}, "
                f"got {int(indices[bad.any(axis=1)][0, column])}."
            )
        return indices

    def flat_index(self, factors: np.ndarray) -> np.ndarray:
        """Row of each factor vector in the released row-major file, shape ``(n,)``."""
        return np.ravel_multi_index(tuple(self.check_factors(factors).T), self.factor_sizes)
