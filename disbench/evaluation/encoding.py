"""A trained method as an :data:`~disbench.methods.representation.Encoder`, and fresh points for codes metrics.

Rendering and encoding in chunks is :func:`disbench.methods.representation.encode_factors`,
shared with the encoder metrics.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from disbench.methods import representation
from disbench.methods.representation import Encoder, Representation, space_codes


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

    def draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        factors = dataset.evaluation_factors(n, rng)
        codes = space_codes(representation.encode_factors(encode, dataset, factors, rng, chunk_rows), space)
        return np.asarray(codes, dtype=np.float64), factors

    return draw
