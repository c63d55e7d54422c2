"""Smallest eigenpairs of the connection Laplacian by a cascade over random subsamples.

The low eigenvectors of a connection Laplacian are smooth fields (nearly parallel over
a neighbourhood), which plain Krylov solvers resolve slowly: on S2xS2 at 10,000 points
ARPACK (``eigsh``, ``which="SA"``) took 57 s and LOBPCG with a Jacobi preconditioner
did not reach 1e-5 in 500 iterations (23 s); a smoothed-aggregation multigrid
preconditioner cut that to 52 iterations but cost more to build and apply than it saved
(61 s). What works is a cascade (coarse-to-fine initial guesses):

1. draw a random subsample of ``N / coarsening`` points and build the same operator on it
   (kNN graph, transports between the fine tangent frames at those points), recursively,
   until it is small enough for a dense eigensolver;
2. carry the coarse eigenvectors to every fine point: the inverse-distance-weighted average
   of the fields of its ``interpolation_neighbors`` nearest coarse points, each moved into
   the fine frame by parallel transport (so parallel fields stay parallel);
3. refine on the fine level with LOBPCG (Jacobi preconditioner) in rounds of
   ``refine_iterations`` until the residuals are small against the spectrum: the
   interpolation error is mostly of high frequency, which these damp quickly (one round
   suffices on S2xS2 at 10,000 points; sparse, high-dimensional manifolds need more).

Memory is linear in N (each level is a sparse operator with a bounded number of blocks
per row) and the cost is dominated by the ``refine_iterations`` fine-level products.

Two backends run the refinement (step 3): ``"numpy"`` (scipy's LOBPCG on the scipy.sparse
operator) and ``"torch"`` (:func:`torch_lobpcg`, our block LOBPCG on a torch sparse CSR
tensor, on any torch device: a GPU is where it pays). Both stop on the same residual test;
the coarse levels and the prolongation stay in numpy (they cost a small share).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from disbench.errors import UsageError
from disbench.geomancer.graph import edge_transport, knn_graph
from disbench.geomancer.laplacian import connection_laplacian, lift_transport, traceless_basis

#: a level with at most this many unknowns is solved densely
DENSE_UNKNOWNS = 2000
#: ways to run the fine-level refinement (module docstring)
BACKENDS = ("numpy", "torch")


@dataclass
class SolverInfo:
    """How the eigenpairs were found: levels (points per level), iterations, residual norms."""

    solver: str
    level_sizes: list[int] = field(default_factory=list)
    iterations: int = 0
    residual_norms: list[float] = field(default_factory=list)
    converged: bool = True


def dense_smallest(matrix: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` smallest eigenpairs of a dense symmetric matrix (LAPACK ``evr`` on a subset)."""
    import scipy.linalg

    return scipy.linalg.eigh(matrix, subset_by_index=[0, min(count, len(matrix)) - 1])


def laplacian_on(points: np.ndarray, tangents: np.ndarray, num_neighbors: int) -> tuple:
    """kNN graph and connection Laplacian of ``points`` with the given tangent frames."""
    graph = knn_graph(points, num_neighbors)
    upper = scipy.sparse.triu(graph, 1).tocoo()
    transports = edge_transport(tangents, upper.row, upper.col)
    return graph, connection_laplacian(graph, transports, upper.row, upper.col)


def transport_interpolation(
    points: np.ndarray,
    tangents: np.ndarray,
    coarse: np.ndarray,
    num_neighbors: int,
) -> scipy.sparse.csr_matrix:
    """Prolongation of coarse fields to all points by weighted parallel transport.

    Args:
        points: ``(N, D)``; tangents ``(N, k, D)``.
        coarse: indices of the coarse points.
        num_neighbors: coarse points averaged per fine point.

    Returns:
        ``(N b, N_c b)`` CSR matrix with ``num_neighbors`` weighted orthogonal blocks per row block.
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(points)
    basis = traceless_basis(tangents.shape[1])
    b = len(basis)
    r = min(num_neighbors, len(coarse))
    distance, nearest = NearestNeighbors(n_neighbors=r).fit(points[coarse]).kneighbors(points)
    weight = 1.0 / np.maximum(distance, 1e-12 * max(distance.max(), 1e-300))
    weight[distance == 0] = 1e12  # a fine point that is a coarse point takes its own field
    weight /= weight.sum(axis=1, keepdims=True)
    transports = edge_transport(tangents, coarse[nearest].ravel(), np.repeat(np.arange(n), r))
    blocks = lift_transport(transports, basis) * weight.ravel()[:, None, None]
    bsr = scipy.sparse.bsr_matrix(
        (blocks, nearest.ravel(), np.arange(0, n * r + 1, r)), shape=(n * b, len(coarse) * b)
    )
    return bsr.tocsr()


def smallest_eigenpairs(
    laplacian: scipy.sparse.spmatrix,
    points: np.ndarray,
    tangents: np.ndarray,
    num_eigenpairs: int,
    num_neighbors: int,
    rng: np.random.Generator,
    coarsening: int = 8,
    interpolation_neighbors: int = 4,
    refine_iterations: int = 12,
    relative_tolerance: float = 0.2,
    max_rounds: int = 25,
    info: SolverInfo | None = None,
    backend: str = "numpy",
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray, SolverInfo]:
    """The ``num_eigenpairs`` smallest eigenpairs of the connection Laplacian (see module docstring).

    Args:
        laplacian: ``(N b, N b)`` symmetric PSD, built on ``points`` with ``tangents``.
        points: ``(N, D)``; tangents ``(N, k, D)``.
        num_eigenpairs: how many (m).
        num_neighbors: kNN count for the coarse levels' graphs.
        rng: draws the coarse subsamples.
        coarsening: ratio of points between consecutive levels.
        interpolation_neighbors: coarse points averaged per fine point.
        refine_iterations: LOBPCG iterations per round.
        relative_tolerance: stop refining a level once every residual norm is at most this
            times the largest eigenvalue (Ritz values are then accurate to about its square).
        max_rounds: most refinement rounds per level.
        backend: ``"numpy"`` or ``"torch"`` (module docstring).
        device: torch device of the ``"torch"`` backend (``"cpu"``, ``"cuda:0"``, ...).

    Returns:
        ``(eigenvalues (m,), eigenvectors (N b, m), info)``, eigenvalues ascending.
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown eigensolver backend {backend!r}; use one of: {', '.join(BACKENDS)}.")
    info = info or SolverInfo(solver="cascade-lobpcg" if backend == "numpy" else "cascade-lobpcg-torch")
    n = len(points)
    info.level_sizes.append(n)
    if laplacian.shape[0] <= DENSE_UNKNOWNS or n < coarsening * (num_neighbors + 2):
        values, vectors = dense_smallest(laplacian.toarray(), num_eigenpairs)
        if len(info.level_sizes) == 1:
            info.solver = "dense"
        return values, vectors, info
    coarse = np.sort(rng.choice(n, size=n // coarsening, replace=False))
    _, coarse_laplacian = laplacian_on(points[coarse], tangents[coarse], num_neighbors)
    _, coarse_vectors, info = smallest_eigenpairs(
        coarse_laplacian, points[coarse], tangents[coarse], num_eigenpairs, num_neighbors, rng,
        coarsening, interpolation_neighbors, refine_iterations, relative_tolerance, max_rounds, info,
        backend, device,
    )
    start = transport_interpolation(points, tangents, coarse, interpolation_neighbors) @ coarse_vectors
    refine = torch_refinement(laplacian, device) if backend == "torch" else numpy_refinement(laplacian)
    values, vectors, residuals, iterations, converged = refine_rounds(
        refine, start, refine_iterations, relative_tolerance, max_rounds
    )
    info.iterations += iterations
    info.residual_norms = residuals.tolist()
    info.converged = bool(converged)
    return values, vectors, info


#: one refinement round: vectors in, ``(ascending values, vectors, residual norms (m,))`` out
RefineRound = Callable[[Any, int], tuple[Any, Any, np.ndarray]]


def refine_rounds(
    refine: RefineRound, start: Any, refine_iterations: int, relative_tolerance: float, max_rounds: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]:
    """Refine in rounds until the residuals are small against the spectrum (either backend).

    Returns:
        ``(values (m,), vectors (N b, m), residual norms (m,), iterations, converged)`` as numpy.
    """
    vectors, iterations = start, 0
    while True:
        values, vectors, residuals = refine(vectors, refine_iterations)
        iterations += refine_iterations
        top = float(values[-1])
        converged = bool(residuals.max() <= relative_tolerance * max(top, 1e-12))
        if converged or iterations >= max_rounds * refine_iterations:
            break
    if not isinstance(vectors, np.ndarray):  # a torch tensor, possibly on a GPU
        values, vectors = values.cpu().numpy(), vectors.cpu().numpy()
    return np.asarray(values), vectors, residuals, iterations, converged


def numpy_refinement(laplacian: scipy.sparse.spmatrix) -> RefineRound:
    """Refinement rounds by scipy's LOBPCG with a Jacobi preconditioner."""
    jacobi = scipy.sparse.diags(1.0 / laplacian.diagonal())

    def refine(vectors: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with warnings.catch_warnings():  # a fixed budget per round is the point: no "not converged" warning
            warnings.simplefilter("ignore", UserWarning)
            values, vectors = scipy.sparse.linalg.lobpcg(
                laplacian, vectors, M=jacobi, largest=False, tol=1e-10, maxiter=iterations
            )
        order = np.argsort(values)
        values, vectors = values[order], vectors[:, order]
        return values, vectors, np.linalg.norm(laplacian @ vectors - vectors * values, axis=0)

    return refine


def torch_refinement(laplacian: scipy.sparse.spmatrix, device: str) -> RefineRound:
    """Refinement rounds by :func:`torch_lobpcg` on a float64 torch sparse CSR copy on ``device``."""
    import torch

    csr = scipy.sparse.csr_matrix(laplacian)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": known, and the products work
        warnings.simplefilter("ignore", UserWarning)
        operator = torch.sparse_csr_tensor(
            torch.from_numpy(csr.indptr.astype(np.int64)),
            torch.from_numpy(csr.indices.astype(np.int64)),
            torch.from_numpy(csr.data.astype(np.float64)),
            size=csr.shape,
            device=device,
            check_invariants=False,  # scipy built it: sorted, in-range indices
        )
    inverse_diagonal = torch.from_numpy(1.0 / csr.diagonal()).to(device)

    def refine(vectors: Any, iterations: int) -> tuple[Any, Any, np.ndarray]:
        if isinstance(vectors, np.ndarray):
            vectors = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float64)).to(device)
        values, vectors = torch_lobpcg(operator, vectors, inverse_diagonal, iterations)
        residuals = torch.linalg.vector_norm(operator @ vectors - vectors * values, dim=0)
        return values, vectors, residuals.cpu().numpy()

    return refine


def torch_lobpcg(operator: Any, start: Any, inverse_diagonal: Any, iterations: int) -> tuple[Any, Any]:
    """Block LOBPCG for the smallest eigenpairs of a symmetric operator, in torch.

    Each iteration does Rayleigh-Ritz on the span of the current block ``X``, the
    preconditioned residuals ``W`` and the previous search directions ``P``. The basis is
    orthonormalised by a Householder QR, whose Q stays orthonormal even when ``W`` and ``P``
    become nearly dependent as the iteration converges (so no Gram matrix goes singular, the
    usual failure of plain LOBPCG); ``P`` is the part of the new block outside span(X).

    Args:
        operator: ``(n, n)`` symmetric, anything with ``operator @ (n, m)`` (e.g. sparse CSR).
        start: ``(n, m)`` initial block, ``3 m <= n``.
        inverse_diagonal: ``(n,)`` Jacobi preconditioner.
        iterations: Rayleigh-Ritz steps.

    Returns:
        ``(values (m,), vectors (n, m))``, values ascending, vectors orthonormal.
    """
    import torch

    m = start.shape[1]
    basis, _ = torch.linalg.qr(start)
    image = operator @ basis
    values, rotation = torch.linalg.eigh(basis.T @ image)
    block, image = basis @ rotation, image @ rotation
    directions = None
    for _ in range(iterations):
        residual = image - block * values
        preconditioned = residual * inverse_diagonal[:, None]
        parts = [block, preconditioned] if directions is None else [block, preconditioned, directions]
        basis, _ = torch.linalg.qr(torch.cat(parts, dim=1))
        basis_image = operator @ basis
        projected = basis.T @ basis_image
        values, coefficients = torch.linalg.eigh((projected + projected.T) / 2)
        values, coefficients = values[:m], coefficients[:, :m]
        block, image = basis @ coefficients, basis_image @ coefficients
        # the new block's component outside the old X: the next search directions
        directions = basis[:, m:] @ coefficients[m:]
    return values, block
