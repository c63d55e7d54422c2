"""Representation: what a method's ``encode`` returns.

An ordered mapping from space name to a codes array ``(N, d)``. A VAE has one
space (``"latent"``); multi-space SSL has ``"content"`` and one ``"style:<group>"``
per transformation group. Methods that return more than codes (GeoManCEr's
per-point tangent subspaces) put those arrays in ``extras``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from disbench.errors import DisbenchError


@dataclass
class Representation:
    spaces: dict[str, np.ndarray]
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lengths = {name: len(codes) for name, codes in self.spaces.items()}
        if len(set(lengths.values())) > 1:
            raise DisbenchError(f"representation spaces have different lengths: {lengths}")
        for name, codes in self.spaces.items():
            if codes.ndim != 2:
                raise DisbenchError(f"space {name!r} must be 2-D (N x d), got shape {codes.shape}")

    def __len__(self) -> int:
        return len(next(iter(self.spaces.values()))) if self.spaces else 0

    def joint(self) -> np.ndarray:
        """All spaces concatenated along the code dimension."""
        return np.concatenate(list(self.spaces.values()), axis=1)

    def evaluation_spaces(self) -> dict[str, np.ndarray]:
        """The spaces metrics score: each space, plus ``"joint"`` when there are several."""
        spaces = dict(self.spaces)
        if len(spaces) > 1:
            spaces["joint"] = self.joint()
        return spaces

    @staticmethod
    def concatenate(parts: list["Representation"]) -> "Representation":
        """Join batch-wise encodings along the sample axis."""
        spaces = {k: np.concatenate([p.spaces[k] for p in parts]) for k in parts[0].spaces}
        extras = {k: np.concatenate([p.extras[k] for p in parts]) for k in parts[0].extras}
        return Representation(spaces, extras)
