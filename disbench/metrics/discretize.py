"""Shared discretisation and plug-in mutual information for the codes metrics.

disentanglement_lib (dlib) bins each code dimension on its own into ``num_bins``
equal-width bins between its min and max (``np.histogram`` edges, last edge
dropped, then ``np.digitize``) and estimates mutual information in nats with
scikit-learn's ``mutual_info_score`` on the contingency table. This module does
the same arithmetic without a Python loop over pairs: one ``np.bincount`` of joint
indices per code dimension covers every factor at once, in row chunks, so memory
grows with ``N`` (never ``N x N`` nor ``N x bins x bins``).
"""

from __future__ import annotations

import numpy as np

from disbench.datasets.base import Factor

#: rows per bincount chunk: bounds the joint-index buffer to a few tens of MB
_CHUNK_ROWS = 1 << 17


def histogram_discretize(values: np.ndarray, num_bins: int) -> np.ndarray:
    """Bin each column into ``num_bins`` equal-width bins, exactly as dlib's ``_histogram_discretize``.

    dlib calls ``np.digitize(x, np.histogram(x, num_bins)[1][:-1])``. The bin is found by
    arithmetic (``(x - min) / width``) and then corrected by one comparison against the
    very same ``np.histogram`` edges on either side, which reproduces ``np.digitize``
    exactly (rounding can only move the arithmetic guess by one bin) in O(N) instead of a
    binary search per value.

    Args:
        values: ``(N, d)`` real array.
        num_bins: bins per column.

    Returns:
        ``(N, d)`` int16 array of bin indices in ``0 .. num_bins - 1`` (dlib's ``1 .. num_bins``
        minus one, which changes no mutual information).
    """
    values = np.asarray(values, dtype=np.float64)
    binned = np.empty(values.shape, dtype=np.int16)
    for column in range(values.shape[1]):
        x = values[:, column]
        edges = np.histogram_bin_edges(x, num_bins)[:-1]  # (num_bins,) left edges, as dlib
        width = edges[1] - edges[0] if num_bins > 1 else 1.0
        guess = np.clip(((x - edges[0]) / width).astype(np.int64), 0, num_bins - 1)
        guess -= x < edges[guess]
        guess = np.maximum(guess, 0)
        upper = np.minimum(guess + 1, num_bins - 1)
        guess += (x >= edges[upper]) & (upper > guess)
        binned[:, column] = guess
    return binned


def label_indices(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels ``0 .. K-1`` in the sorted order of the distinct values, and ``K``.

    Mapping through the distinct values makes contingency indices independent of how
    large the raw factor values are, so ``bin * K + label`` cannot overflow. Integers
    spanning a small range are mapped with a lookup table (O(N)) instead of a sort.
    """
    values = np.asarray(values).ravel()
    if np.issubdtype(values.dtype, np.integer) and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * len(values):
            present = np.bincount((values - low).astype(np.int64), minlength=high - low + 1) > 0
            lookup = (np.cumsum(present) - 1).astype(np.int32)
            return lookup[values - low], int(present.sum())
    distinct, inverse = np.unique(values, return_inverse=True)
    return inverse.astype(np.int32), len(distinct)


def discrete_factors(
    factors: np.ndarray, factor_info: list[Factor], continuous_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every factor as labels: discrete ones as they are, continuous ones in ``continuous_bins`` histogram bins.

    Args:
        factors: ``(N, F)`` factor values.
        factor_info: one :class:`Factor` per column (``num_values is None`` means continuous).
        continuous_bins: equal-width bins for continuous factors (dlib's histogram discretiser).

    Returns:
        ``(labels, sizes)``: ``(N, F)`` int32 labels and ``(F,)`` numbers of distinct labels.
    """
    labels = np.empty(factors.shape, dtype=np.int32)
    sizes = np.empty(factors.shape[1], dtype=np.int64)
    for column, info in enumerate(factor_info):
        values = factors[:, column]
        if info.continuous:
            values = histogram_discretize(values[:, None].astype(np.float64), continuous_bins)[:, 0]
        labels[:, column], sizes[column] = label_indices(values)
    return labels, sizes


def compact_labels(binned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of small non-negative integers relabelled ``0 .. K-1`` per column, with each ``K``."""
    labels = np.empty(binned.shape, dtype=np.int32)
    sizes = np.empty(binned.shape[1], dtype=np.int64)
    for column in range(binned.shape[1]):
        labels[:, column], sizes[column] = label_indices(binned[:, column])
    return labels, sizes


def contingency_tables(
    left: np.ndarray, left_size: int, right: np.ndarray, right_sizes: np.ndarray
) -> list[np.ndarray]:
    """Contingency tables of one label column against several, by chunked ``np.bincount``.

    Args:
        left: ``(N,)`` labels in ``0 .. left_size - 1``.
        left_size: number of left labels.
        right: ``(N, F)`` labels, column ``f`` in ``0 .. right_sizes[f] - 1``.
        right_sizes: ``(F,)``.

    Returns:
        ``F`` int64 tables, table ``f`` of shape ``(left_size, right_sizes[f])``.
    """
    right_sizes = np.asarray(right_sizes, dtype=np.int64)
    block = left_size * right_sizes
    offsets = np.concatenate([[0], np.cumsum(block)[:-1]])
    counts = np.zeros(int(block.sum()), dtype=np.int64)
    # int32 keys halve the memory traffic whenever the table is small enough (always, for bins x labels)
    key_type = np.int32 if block.sum() < 2**31 else np.int64
    offsets, right_sizes_k = offsets.astype(key_type), right_sizes.astype(key_type)
    for start in range(0, len(left), _CHUNK_ROWS):
        a = left[start : start + _CHUNK_ROWS].astype(key_type)[:, None]
        keys = a * right_sizes_k
        keys += offsets
        keys += right[start : start + _CHUNK_ROWS]
        counts += np.bincount(keys.ravel(), minlength=len(counts))
    return [
        counts[o : o + s].reshape(left_size, k) for o, s, k in zip(offsets, block, right_sizes)
    ]


def mutual_info_from_contingency(table: np.ndarray) -> float:
    """Plug-in mutual information in nats, with scikit-learn ``mutual_info_score``'s arithmetic."""
    row = table.sum(axis=1)
    col = table.sum(axis=0)
    if (row > 0).sum() <= 1 or (col > 0).sum() <= 1:
        return 0.0
    nz_row, nz_col = np.nonzero(table)
    nz = table[nz_row, nz_col].astype(np.float64)
    total = nz.sum()
    joint = nz / total
    outer = row[nz_row].astype(np.int64) * col[nz_col].astype(np.int64)
    log_outer = -np.log(outer) + 2.0 * np.log(total)
    terms = joint * (np.log(nz) - np.log(total)) + joint * log_outer
    terms = np.where(np.abs(terms) < np.finfo(terms.dtype).eps, 0.0, terms)
    return float(np.clip(terms.sum(), 0.0, None))


def mutual_info_matrix(
    left: np.ndarray, left_sizes: np.ndarray, right: np.ndarray, right_sizes: np.ndarray
) -> np.ndarray:
    """Mutual information (nats) between every left column and every right column.

    Args:
        left: ``(N, d)`` labels (binned codes), column ``i`` in ``0 .. left_sizes[i] - 1``.
        left_sizes: ``(d,)``.
        right: ``(N, F)`` labels (factors), column ``f`` in ``0 .. right_sizes[f] - 1``.
        right_sizes: ``(F,)``.

    Returns:
        ``(d, F)`` matrix, entry ``(i, f)`` = ``mutual_info_score(right[:, f], left[:, i])``.
    """
    matrix = np.zeros((left.shape[1], right.shape[1]))
    for i in range(left.shape[1]):
        tables = contingency_tables(left[:, i], int(left_sizes[i]), right, right_sizes)
        matrix[i] = [mutual_info_from_contingency(t) for t in tables]
    return matrix


def label_entropy(labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Entropy in nats of each label column (dlib's ``discrete_entropy``: the MI of a factor with itself).

    Uses the arithmetic of :func:`mutual_info_from_contingency` on the diagonal table,
    without building the ``K x K`` table.

    Args:
        labels: ``(N, F)`` labels.
        sizes: ``(F,)`` numbers of labels.

    Returns:
        ``(F,)`` entropies.
    """
    entropies = np.zeros(labels.shape[1])
    for f in range(labels.shape[1]):
        counts = np.bincount(labels[:, f], minlength=int(sizes[f]))
        counts = counts[counts > 0].astype(np.float64)
        if len(counts) <= 1:
            continue
        total = counts.sum()
        share = counts / total
        terms = share * (np.log(counts) - np.log(total)) + share * (-np.log(counts * counts) + 2.0 * np.log(total))
        terms = np.where(np.abs(terms) < np.finfo(terms.dtype).eps, 0.0, terms)
        entropies[f] = max(terms.sum(), 0.0)
    return entropies


def subsample(num_points: int, limit: int | None, rng: np.random.Generator) -> np.ndarray | slice:
    """Row selection of at most ``limit`` points: all rows in order, or a seeded random subset."""
    if limit is None or num_points <= limit:
        return slice(None)
    return np.sort(rng.choice(num_points, size=limit, replace=False))


def single_blas_thread():
    """Context limiting BLAS to one thread.

    Measured on the 2-core target machine while other processes compete for the
    cores: a 1333 x 1333 Cholesky takes 0.06 s on one OpenBLAS thread and 0.7 s on
    two (threads wait on each other).
    Unloaded, two threads gain at most 2x; one thread is the robust choice.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
