"""Neighbourhood graph, local tangent spaces and discrete parallel transport.

Everything is vectorised over points (tangents) or edges (transport); the only
Python loops run over fixed-size chunks, which bound memory for large N.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components

from disbench.errors import DisbenchError, UsageError

#: ambient dimension above which kd-trees lose to blocked brute force
KD_TREE_MAX_DIM = 20
#: points (or edges) per chunk of batched SVDs (bounds the temporary arrays)
CHUNK = 16_384
#: bytes of zero-padded neighbour offsets per chunk (matters for images: D in the thousands)
CHUNK_BYTES = 256 * 2**20


def check_points(points: np.ndarray) -> np.ndarray:
    """Points as a finite float64 ``(N, D)`` array without duplicates, or a one-line error."""
    points = np.asarray(points)
    if points.ndim != 2:
        raise UsageError(f"geomancer needs points as an (N, D) array, got shape {points.shape}.")
    if not np.issubdtype(points.dtype, np.number):
        raise UsageError(f"geomancer needs numeric points, got dtype {points.dtype}.")
    points = points.astype(np.float64, copy=False)
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise UsageError(
            f"{int(bad.sum())} of {len(points)} points hold NaN or infinite values "
            f"(first at row {int(np.argmax(bad))}); remove them before fitting."
        )
    unique = np.unique(points, axis=0)
    if len(unique) < len(points):
        raise UsageError(
            f"{len(points) - len(unique)} duplicate points; a tangent space needs distinct "
            "neighbours, so drop duplicates (np.unique(points, axis=0)) before fitting."
        )
    return points


def knn_graph(points: np.ndarray, num_neighbors: int) -> scipy.sparse.csr_matrix:
    """Union-symmetrised, unweighted kNN graph.

    Args:
        points: ``(N, D)`` distinct finite points.
        num_neighbors: neighbours per point (the point itself excluded).

    Returns:
        ``(N, N)`` CSR matrix of ones, symmetric, zero diagonal: an edge where either
        point is among the other's ``num_neighbors`` nearest.

    Raises:
        UsageError: fewer points than ``num_neighbors + 1``.
        DisbenchError: the graph is disconnected (the Laplacian's null space would
            then count components, not factors).
    """
    from sklearn.neighbors import NearestNeighbors

    n, dim = points.shape
    if n <= num_neighbors:
        raise UsageError(
            f"{n} points but {num_neighbors} neighbours per point; give more points than "
            "neighbours (or lower num_neighbors)."
        )
    algorithm = "kd_tree" if dim <= KD_TREE_MAX_DIM else "brute"  # brute force runs in blocks
    index = NearestNeighbors(n_neighbors=num_neighbors, algorithm=algorithm).fit(points)
    neighbors = index.kneighbors(return_distance=False)  # X=None excludes each point itself
    rows = np.repeat(np.arange(n), num_neighbors)
    graph = scipy.sparse.csr_matrix((np.ones(rows.size), (rows, neighbors.ravel())), shape=(n, n))
    graph = graph.maximum(graph.T).tocsr()
    graph.sort_indices()
    num_components, _ = connected_components(graph, directed=False)
    if num_components > 1:
        raise DisbenchError(
            f"the {num_neighbors}-nearest-neighbour graph has {num_components} disconnected parts; "
            "raise num_neighbors (or sample more points) until it is connected."
        )
    return graph


def padded_neighbor_offsets(points: np.ndarray, graph: scipy.sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Differences to each row's graph neighbours, zero-padded to the largest degree.

    Zero rows leave the right singular vectors unchanged, so padding lets one batched
    SVD serve points of different degrees.

    Returns:
        ``(len(rows), max_degree, D)`` array.
    """
    degree = np.diff(graph.indptr)[rows]
    width = int(degree.max())
    slot = np.arange(width)
    valid = slot[None, :] < degree[:, None]
    positions = graph.indptr[rows][:, None] + np.minimum(slot[None, :], degree[:, None] - 1)
    neighbor_index = graph.indices[positions]
    offsets = points[neighbor_index] - points[rows][:, None, :]
    offsets[~valid] = 0.0
    return offsets


def local_spectra(points: np.ndarray, graph: scipy.sparse.csr_matrix, num_dims: int | None):
    """Local PCA at every point: tangent bases and singular values.

    Args:
        points: ``(N, D)``.
        graph: the symmetric kNN graph.
        num_dims: intrinsic dimension k, or ``None`` to return only the spectra.

    Returns:
        ``(tangents, singular_values)``: tangents ``(N, k, D)`` with orthonormal rows
        (``None`` when ``num_dims`` is None), singular values ``(N, min(max_degree, D))``.
    """
    n = len(points)
    tangents = None if num_dims is None else np.empty((n, num_dims, points.shape[1]))
    max_degree = int(np.diff(graph.indptr).max())
    chunk = int(np.clip(CHUNK_BYTES // (8 * max_degree * points.shape[1]), 1, CHUNK))
    spectra = []
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        _, singular, right = np.linalg.svd(padded_neighbor_offsets(points, graph, rows), full_matrices=False)
        if tangents is not None:
            tangents[rows] = right[:, :num_dims]
        spectra.append(singular)
    width = min(s.shape[1] for s in spectra)
    return tangents, np.concatenate([s[:, :width] for s in spectra])


def estimate_intrinsic_dimension(singular_values: np.ndarray, explained: float = 0.9) -> tuple[int, np.ndarray]:
    """Intrinsic dimension from the local PCA spectrum: the fewest directions whose mean share
    of the local variance reaches ``explained`` (curvature puts the rest off the tangent space).

    Args:
        singular_values: ``(N, m)`` local singular values, descending per row.
        explained: variance share the tangent space must hold.

    Returns:
        ``(k, mean_variance)`` with ``mean_variance`` of shape ``(m,)``, normalised to sum 1.
    """
    variance = singular_values**2
    variance = variance / np.maximum(variance.sum(axis=1, keepdims=True), 1e-300)
    mean_variance = variance.mean(axis=0)
    return int(np.searchsorted(np.cumsum(mean_variance), explained)) + 1, mean_variance


def polar_factor(matrices: np.ndarray) -> np.ndarray:
    """Orthogonal polar factor ``U V^T`` of each matrix ``U S V^T``; ``(..., k, k)`` -> same."""
    left, _, right = np.linalg.svd(matrices)
    return left @ right


def edge_transport(tangents: np.ndarray, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Discrete parallel transport from each source's tangent frame to its target's.

    The transport is the orthogonal matrix closest to ``T_target T_source^T`` (its polar
    factor): it maps coordinates in the source frame to coordinates in the target frame.

    Args:
        tangents: ``(N, k, D)`` orthonormal rows.
        sources, targets: ``(E,)`` point indices.

    Returns:
        ``(E, k, k)`` orthogonal matrices.
    """
    k = tangents.shape[1]
    out = np.empty((len(sources), k, k))
    chunk = int(np.clip(CHUNK_BYTES // (16 * k * tangents.shape[2]), 1, CHUNK))
    for start in range(0, len(sources), chunk):
        part = slice(start, start + chunk)
        overlap = tangents[targets[part]] @ np.swapaxes(tangents[sources[part]], 1, 2)
        out[part] = polar_factor(overlap)
    return out
