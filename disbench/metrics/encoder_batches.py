"""Shared sampling for the encoder metrics (BetaVAE and FactorVAE scores).

Both draw batches of factor vectors in which one factor is held fixed (by copying
its column), render them with the dataset, and encode them with the method. This
module draws many such batches at once and encodes them in chunks of rows, so the
method sees large batches instead of one per vote (through
:func:`disbench.methods.representation.encode_factors`, the one chunked render-and-encode).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from disbench.methods import representation
from disbench.metrics.base import MetricNotApplicable


def require_discrete_factors(dataset, metric: str) -> None:
    """UsageError when the dataset has continuous factors: "hold factor k fixed" needs discrete values."""
    continuous = [f.name for f in dataset.factors if f.continuous]
    if continuous:
        raise MetricNotApplicable(
            f"{metric} needs discrete factors, but dataset {dataset.name!r} has continuous ones "
            f"({', '.join(continuous[:3])}{', ...' if len(continuous) > 3 else ''}); "
            "use mig, sap, dci or r2 for continuous factors."
        )
    if not dataset.factors:
        raise MetricNotApplicable(f"{metric} needs ground-truth factors; dataset {dataset.name!r} has none.")


def encode_space(
    encode: Callable, space: str, dataset, factors: np.ndarray, rng: np.random.Generator, chunk_rows: int
) -> np.ndarray:
    """Codes ``(n, d)`` of ``space`` for the observations rendered from ``factors`` ``(n, F)``."""
    encoded = representation.encode_factors(encode, dataset, factors, rng, chunk_rows)
    return np.asarray(representation.space_codes(encoded, space), dtype=np.float64)


def fixed_factor_batches(
    dataset, num_batches: int, batch_size: int, rng: np.random.Generator, pair: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Factor batches that share one randomly chosen factor.

    Args:
        dataset: the dataset whose factors are drawn.
        num_batches: batches to draw.
        batch_size: factor vectors per batch.
        rng: randomness.
        pair: if True (BetaVAE), each batch is two halves where row ``i`` of the second half
            copies the fixed factor from row ``i`` of the first; if False (FactorVAE), every
            row copies it from the batch's first row.

    Returns:
        ``(fixed, factors)``: the fixed factor index per batch ``(num_batches,)`` and the factor
        vectors ``(num_batches, rows, F)`` with ``rows = 2 * batch_size`` if ``pair`` else ``batch_size``.
    """
    num_factors = len(dataset.factors)
    fixed = rng.integers(num_factors, size=num_batches)
    rows = 2 * batch_size if pair else batch_size
    factors = dataset.sample_factors(num_batches * rows, rng).reshape(num_batches, rows, num_factors)
    batch = np.arange(num_batches)
    if pair:
        factors[batch, batch_size:, fixed] = factors[batch, :batch_size, fixed]
    else:
        factors[batch, :, fixed] = factors[batch, :1, fixed]
    return fixed, factors
