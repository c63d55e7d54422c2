"""A straightforward GeoManCEr, written the way the 2020 reference code works, as a baseline.

Same algorithm as :mod:`disbench.geomancer`, with the reference's implementation
choices: a dense O(N^2) kNN (blocks of a full distance matrix), Python loops over
points and edges, a LIL graph symmetrised entry by entry, the second-order operator in
lower-triangular (non-orthonormal) coordinates, ARPACK ``eigsh(which="SM")``, and one
orthogonal FFDiag (matrix-exponential updates) per point. Only the benchmark uses it;
it exists to measure how much the vectorised version gains in the same process.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg


def dense_knn_graph(points: np.ndarray, num_neighbors: int, block: int = 1000) -> scipy.sparse.lil_matrix:
    n = len(points)
    graph = scipy.sparse.lil_matrix((n, n))
    squared = (points**2).sum(1)
    for start in range(0, n, block):
        stop = min(n, start + block)
        distances = squared[:, None] - 2 * points @ points[start:stop].T + squared[None, start:stop]
        for column in range(stop - start):
            nearest = np.argsort(distances[:, column])[1 : num_neighbors + 1]
            for j in nearest:
                graph[start + column, j] = 1
    for i in range(n):
        for j in list(graph.rows[i]):
            if graph[j, i] == 0:
                graph[j, i] = 1
    return graph


def lower_triangular_operator(o: np.ndarray) -> np.ndarray:
    """Matrix of A -> O A O^T on trace-free symmetric matrices in lower-triangular coordinates."""
    k = len(o)
    rows, cols = np.tril_indices(k)
    m = len(rows)
    full = np.zeros((m, m))
    for b in range(m):  # image of each coordinate matrix, read back in the same coordinates
        unit = np.zeros((k, k))
        unit[rows[b], cols[b]] = 1.0
        unit = unit + unit.T - np.diag(np.diag(unit))
        full[:, b] = (o @ unit @ o.T)[rows, cols]
    # drop the last diagonal coordinate: it is minus the sum of the other diagonal entries
    last_diagonal = m - 1
    diagonal_coords = [b for b in range(m) if rows[b] == cols[b]]
    completion = np.eye(m)[:, :-1]
    completion[last_diagonal, diagonal_coords[:-1]] = -1
    return (full @ completion)[:-1]


def ffdiag(matrices: np.ndarray, max_iter: int = 10000, tol: float = 1e-10, step: float = 1.0) -> np.ndarray:
    c = matrices.copy()
    k = c.shape[1]
    v = np.eye(k)
    previous = np.inf
    for _ in range(max_iter):
        w = np.zeros((k, k))
        for i in range(k):
            for j in range(i + 1, k):
                diff = c[:, i, i] - c[:, j, j]
                w[i, j] = np.sum(c[:, i, j] * diff) / np.sum(diff**2)
        w -= w.T
        norm = np.linalg.svd(w, compute_uv=False).max()
        if norm > step:
            w *= step / norm
        rotation = scipy.linalg.expm(w)
        v = rotation @ v
        for m in range(len(c)):
            c[m] = rotation @ c[m] @ rotation.T
        off = c.copy()
        for m in range(len(c)):
            np.fill_diagonal(off[m], 0)
        error = np.linalg.norm(off)
        if 0 <= previous - error < tol:
            break
        previous = error
    return v


def cluster(omega: np.ndarray) -> list[np.ndarray]:
    w = ffdiag(omega)
    psi = np.array([np.diag(w @ m @ w.T) for m in omega])
    gram = psi.T @ psi
    norms = np.sqrt(np.diag(gram))
    adjacency = (gram / np.outer(norms, norms)) > 0.5
    laplacian = np.diag(adjacency.sum(0)) - adjacency
    values, vectors = np.linalg.eig(laplacian)
    cliques = np.abs(vectors[:, np.abs(values) < 1e-6]) > 1e-6
    return [w[cliques[:, i]] for i in range(cliques.shape[1])]


def baseline_fit(points: np.ndarray, k: int, num_eigenpairs: int = 10) -> tuple[list, np.ndarray, dict]:
    """Returns per-point lists of ``(D, d_j)`` bases, the eigenvalues, and seconds per stage."""
    timings, clock = {}, time.perf_counter()

    def lap(stage):
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    n = len(points)
    graph = dense_knn_graph(points, 2 * k)
    lap("knn")
    tangents = np.zeros((n, k, points.shape[1]))
    for i in range(n):
        tangents[i] = np.linalg.svd(points[graph.rows[i]] - points[i], full_matrices=False)[2][:k]
    lap("tangents")
    connection = {}
    for i in range(n):
        for j in graph.rows[i]:
            if j > i:
                u, _, vt = np.linalg.svd(tangents[j] @ tangents[i].T)
                connection[(i, j)] = u @ vt
                connection[(j, i)] = (u @ vt).T
    lap("connection")
    b = k * (k + 1) // 2 - 1
    data, indices, indptr = [], [], [0]
    for i in range(n):
        data.append(len(graph.rows[i]) * np.eye(b))
        indices.append(i)
        for j in graph.rows[i]:
            data.append(-lower_triangular_operator(connection[(j, i)]))
            indices.append(j)
        indptr.append(len(indices))
    laplacian = scipy.sparse.bsr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=(n * b, n * b))
    lap("laplacian")
    values, vectors = scipy.sparse.linalg.eigsh(laplacian, k=num_eigenpairs, which="SM")
    lap("eigensolver")
    order = np.argsort(values)
    values, vectors = values[order], vectors[:, order]
    num_null = int(np.argmax(np.diff(values))) + 1
    vectors = vectors.reshape(n, b, num_eigenpairs)
    rows, cols = np.tril_indices(k)
    components = []
    for i in range(n):
        omega = np.zeros((num_null, k, k))
        for m in range(num_null):
            coords = np.append(vectors[i, :, m], 0.0)
            sym = np.zeros((k, k))
            sym[rows, cols] = coords
            sym = sym + sym.T - np.diag(np.diag(sym))
            sym[-1, -1] = -np.trace(sym)
            omega[m] = sym
        components.append([tangents[i].T @ x.T for x in cluster(omega)])
    lap("diagonalization")
    return components, values, timings
