"""Render factor vectors with a dataset and encode them with a method, a chunk of rows at a time.

The one chunked render-and-encode of disbench: the evaluation points of a run and
the batches the encoder metrics (BetaVAE, FactorVAE scores) draw both go through
:func:`encode_factors`, so images never sit in memory all at once and the method
sees large batches.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from disbench.methods.representation import Representation

#: ``encode(observations, factors) -> Representation``; ``factors`` is for methods that read them (oracle)
Encoder = Callable[[np.ndarray, np.ndarray], Representation]


def method_encoder(method) -> Encoder:
    """The :data:`Encoder` of a trained method (passes the factors only to methods that read them).

    It carries ``fitted_sample``, the method's :meth:`~disbench.methods.base.Method.fitted_sample`:
    a transductive method (GeoManCEr) is scored on the points it was fitted on.
    """

    def encode(observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        return method.encode(observations, factors if method.reads_factors else None)

    encode.fitted_sample = method.fitted_sample
    return encode


def fresh_codes(encode: Encoder, dataset, space: str, chunk_rows: int) -> Callable:
    """``draw(n, rng) -> (codes of space, factors)``: n new points rendered and encoded chunk by chunk.

    What :attr:`~disbench.metrics.base.MetricInput.draw` holds for codes metrics that fit on
    fresh points (``r2``, as its reference does).
    """
    from disbench.metrics.base import space_codes

    def draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        factors = dataset.evaluation_factors(n, rng)
        codes = space_codes(encode_factors(encode, dataset, factors, rng, chunk_rows), space)
        return np.asarray(codes, dtype=np.float64), factors

    return draw


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
