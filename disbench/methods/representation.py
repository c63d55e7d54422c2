"""Representation: what a method's ``encode`` returns.

An ordered mapping from space name to a codes array ``(N, d)``. A VAE has one
space (``"latent"``); multi-space SSL has ``"content"`` and one ``"style:<group>"``
per transformation group. Methods that return more than codes (GeoManCEr's
per-point tangent subspaces) put those arrays in ``extras``.

:func:`encode_factors` is the one chunked render-and-encode of disbench: the
evaluation points of a run and the batches the encoder metrics (BetaVAE, FactorVAE
scores) draw both go through it, so images never sit in memory all at once and the
method sees large batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

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


#: ``encode(observations, factors) -> Representation``; ``factors`` is for methods that read them (oracle)
Encoder = Callable[[np.ndarray, np.ndarray], Representation]


def space_codes(representation: Representation, space: str) -> np.ndarray:
    """Codes of ``space`` in a Representation (``"joint"`` concatenates every space)."""
    if space == "joint" and "joint" not in representation.spaces:
        return representation.joint()
    return representation.spaces[space]


def encode_factors(
    encode: Encoder, dataset, factors: np.ndarray, rng: np.random.Generator, chunk_rows: int
) -> Representation:
    """The representation of the observations rendered from ``factors``.

    Args:
        encode: see :data:`Encoder`.
        dataset: renders observations with ``observations_from_factors(factors, rng)``.
        factors: ``(N, F)`` factor vectors.
        rng: randomness of the rendering (drawn chunk after chunk, so the result does not
            depend on how a caller splits its own work).
        chunk_rows: rows rendered and encoded at once.

    Returns:
        A :class:`Representation` of ``N`` rows.
    """
    parts = []
    for start in range(0, len(factors), chunk_rows):
        chunk = factors[start : start + chunk_rows]
        parts.append(encode(dataset.observations_from_factors(chunk, rng), chunk))
    return Representation.concatenate(parts)
