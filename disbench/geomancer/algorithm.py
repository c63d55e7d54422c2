"""The whole GeoManCEr fit: points in, per-point factor subspaces out, with timings.

Honesty about limits: GeoManCEr separates factors through their holonomy (how parallel
transport around loops rotates tangent vectors). Factors with trivial holonomy (intervals,
circles, flat tori: every dSprites factor) leave *every* symmetric trace-free field
parallel, so no split is singled out. The fit then reports ``separable=False`` with the
reasons instead of a confident split. The criteria (all must hold for ``separable=True``):

- a clear spectral gap: ``lambda[m] - lambda[m - 1]`` is at least ``min_gap_ratio`` times
  every other gap between consecutive computed eigenvalues, where ``m`` is the number of
  near-null eigenvalues chosen by the largest gap (or by ``gap_threshold``). (A ratio of
  eigenvalues would be fooled by the noise floor that lifts all of them at small N: on
  S2xS2xS2 at 2,000 points the spectrum is 2.27, 2.28, | 2.49, 2.52, ...);
- ``0 < m < b`` (``m = b``: all fields parallel, the holonomy is trivial) and
  ``m < num_eigenpairs - 1`` (otherwise more null vectors may lie beyond those computed);
- the near-null fields commute: after joint diagonalisation the mean off-diagonal share of
  their squared norm is at most ``max_off_diagonal``;
- the eigensolver converged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse

from disbench.errors import UsageError
from disbench.geomancer.diagonalize import cluster_directions, joint_diagonalize
from disbench.geomancer.eigensolver import BACKENDS, SolverInfo, smallest_eigenpairs
from disbench.geomancer.graph import (
    check_points,
    edge_transport,
    estimate_intrinsic_dimension,
    knn_graph,
    local_spectra,
)
from disbench.geomancer.laplacian import connection_laplacian, fibre_dimension, fields_to_matrices

#: most neighbours used to probe the local PCA spectrum when k is estimated
PROBE_NEIGHBORS = 30
#: largest Laplacian (its b x b blocks) a fit may build, in bytes
MAX_OPERATOR_BYTES = 6 * 2**30

STAGES = ("knn", "tangents", "connection", "laplacian", "eigensolver", "diagonalization")


@dataclass
class GeomancerResult:
    """What a fit found.

    Attributes:
        tangents: ``(N, k, D)`` orthonormal rows, the local tangent frames.
        bases: ``(N, D, k)`` orthonormal columns: the diagonalising directions in ambient
            coordinates, sorted so that each factor's columns are contiguous.
        labels: ``(N, k)`` factor label (``0..counts[i]-1``) of each column of ``bases``.
        counts: ``(N,)`` number of factors found at each point.
        eigenvalues: ``(num_eigenpairs,)`` smallest eigenvalues of the Laplacian.
        num_null: near-null eigenvalues used (``m``); the factor count is ``m + 1``.
        intrinsic_dim: k (given or estimated).
        dimension_spectrum: mean normalised local PCA variances (how k was judged).
        separable: whether the verdict criteria hold (module docstring); ``reasons`` says why not.
        off_diagonal: ``(N,)`` share of the fields' norm left off-diagonal per point.
        gap_ratio: ``lambda[m] - lambda[m-1]`` over the next largest gap in the computed spectrum.
        timings: seconds per stage (:data:`STAGES`).
        solver: how the eigenpairs were found.
    """

    tangents: np.ndarray
    bases: np.ndarray
    labels: np.ndarray
    counts: np.ndarray
    eigenvalues: np.ndarray
    num_null: int
    intrinsic_dim: int
    dimension_spectrum: np.ndarray
    separable: bool
    reasons: list[str]
    off_diagonal: np.ndarray
    gap_ratio: float
    timings: dict[str, float] = field(default_factory=dict)
    solver: SolverInfo | None = None

    @property
    def num_factors(self) -> int:
        return self.num_null + 1

    @property
    def right_count_fraction(self) -> float:
        return float(np.mean(self.counts == self.num_factors))

    def factor_bases(self, index: int) -> list[np.ndarray]:
        """Point ``index``'s factor subspaces: a list of ``(D, d_j)`` orthonormal bases."""
        labels = self.labels[index]
        return [self.bases[index][:, labels == j] for j in range(int(self.counts[index]))]


def choose_null_count(eigenvalues: np.ndarray, gap_threshold: float | None) -> int:
    """Near-null eigenvalue count: below ``gap_threshold``, else before the largest gap."""
    if gap_threshold is not None:
        return int(np.sum(eigenvalues < gap_threshold))
    return int(np.argmax(np.diff(eigenvalues))) + 1


def separability_verdict(
    eigenvalues: np.ndarray, num_null: int, fibre: int, off_diagonal: np.ndarray,
    min_gap_ratio: float, max_off_diagonal: float,
) -> tuple[bool, list[str], float]:
    """Apply the criteria of the module docstring; returns ``(separable, reasons, gap_ratio)``."""
    reasons = []
    if num_null == 0 or num_null >= len(eigenvalues):
        return False, [f"no eigenvalue falls below the gap threshold (found {num_null} near-null)"], 0.0
    gaps = np.diff(eigenvalues)
    chosen = gaps[num_null - 1]
    others = np.delete(gaps, num_null - 1)
    gap_ratio = float(chosen / max(others.max(initial=0.0), 1e-12 * max(chosen, 1e-300)))
    if gap_ratio < min_gap_ratio:
        reasons.append(
            f"no clear spectral gap: the gap after lambda[{num_null - 1}] is only {gap_ratio:.2f} times "
            f"the next largest (< {min_gap_ratio}); more points may sharpen it"
        )
    elif num_null >= fibre:
        reasons.append(
            "every symmetric trace-free field is parallel (trivial holonomy, e.g. circles, "
            "intervals or flat tori): any split of the tangent space fits equally well"
        )
    elif num_null >= len(eigenvalues) - 1:
        reasons.append("the gap lies at the last computed eigenvalue; raise num_eigenpairs")
    mean_off = float(off_diagonal.mean())
    if mean_off > max_off_diagonal:
        reasons.append(
            f"the near-null fields do not commute (off-diagonal share {mean_off:.2f} > "
            f"{max_off_diagonal}), as they would on a product with non-trivial holonomy"
        )
    return not reasons, reasons, gap_ratio


def fit_geomancer(
    points: np.ndarray,
    intrinsic_dim: int | None = None,
    num_neighbors: int | None = None,
    num_eigenpairs: int = 10,
    gap_threshold: float | None = None,
    rng: np.random.Generator | None = None,
    min_gap_ratio: float = 2.0,
    max_off_diagonal: float = 0.1,
    cluster_threshold: float = 0.5,
    coarsening: int = 8,
    refine_iterations: int = 12,
    blas_threads: int | None = 1,
    backend: str = "numpy",
    device: str = "cpu",
) -> GeomancerResult:
    """Run GeoManCEr on points sampled from a (supposed) product manifold.

    Args:
        points: ``(N, D)`` distinct finite points.
        intrinsic_dim: k; ``None`` estimates it from the local PCA spectrum.
        num_neighbors: kNN count (default ``2 k``).
        num_eigenpairs: smallest eigenpairs computed.
        gap_threshold: eigenvalues below it are near-null; ``None`` uses the largest gap.
        rng: draws the eigensolver's coarse subsamples.
        min_gap_ratio, max_off_diagonal: separability criteria (module docstring).
        cluster_threshold: cosine of diagonal profiles above which directions share a factor.
        coarsening, refine_iterations: eigensolver settings
            (:func:`~disbench.geomancer.eigensolver.smallest_eigenpairs`).
        blas_threads: BLAS threads during the fit (``None``: the library default). One by
            default: the dense products are tall and thin, and threaded BLAS collapses when
            the cores are shared (S2xS2, 10,000 points, on a busy 2-core machine: eigensolver
            12.4 s with the default two threads, 3.4 s with one).
        backend: the eigensolver's refinement, ``"numpy"`` (scipy) or ``"torch"``
            (:func:`~disbench.geomancer.eigensolver.torch_lobpcg` on ``device``).
        device: torch device of the ``"torch"`` backend (``"cpu"``, ``"cuda"``, ``"cuda:1"``).

    Raises:
        UsageError: bad points (NaN, duplicates, wrong shape), k larger than D, too few points.
        DisbenchError: a disconnected kNN graph.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return _fit(
            points, intrinsic_dim, num_neighbors, num_eigenpairs, gap_threshold,
            rng if rng is not None else np.random.default_rng(0),
            min_gap_ratio, max_off_diagonal, cluster_threshold, coarsening, refine_iterations,
            backend, device,
        )


def _fit(
    points: np.ndarray,
    intrinsic_dim: int | None,
    num_neighbors: int | None,
    num_eigenpairs: int,
    gap_threshold: float | None,
    rng: np.random.Generator,
    min_gap_ratio: float,
    max_off_diagonal: float,
    cluster_threshold: float,
    coarsening: int,
    refine_iterations: int,
    backend: str,
    device: str,
) -> GeomancerResult:
    """:func:`fit_geomancer` under its BLAS thread limit (same arguments)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - clock
        clock = now

    points = check_points(points)
    n, ambient = points.shape
    if intrinsic_dim is not None and not 1 <= intrinsic_dim <= ambient:
        raise UsageError(
            f"intrinsic dimension k={intrinsic_dim} must lie between 1 and the ambient dimension D={ambient}."
        )
    if intrinsic_dim is not None and intrinsic_dim < 2:
        raise UsageError("geomancer needs intrinsic dimension k >= 2 (a 1-D manifold has nothing to split).")
    if backend not in BACKENDS:
        raise UsageError(f"unknown geomancer backend {backend!r}; use one of: {', '.join(BACKENDS)}.")
    if num_eigenpairs < 2:
        raise UsageError(f"num_eigenpairs must be at least 2 to see a gap, got {num_eigenpairs}.")
    dimension_spectrum = np.zeros(0)
    if intrinsic_dim is None:
        probe_neighbors = num_neighbors or min(2 * ambient, PROBE_NEIGHBORS, n - 1)
        probe_graph = knn_graph(points, probe_neighbors)
        lap("knn")
        _, singular = local_spectra(points, probe_graph, None)
        intrinsic_dim, dimension_spectrum = estimate_intrinsic_dimension(singular)
        intrinsic_dim = max(intrinsic_dim, 2)
        lap("tangents")
    k = intrinsic_dim
    num_neighbors = num_neighbors or 2 * k
    fibre = fibre_dimension(k)
    if num_eigenpairs > n * fibre:
        raise UsageError(f"num_eigenpairs={num_eigenpairs} exceeds the operator size {n * fibre}.")

    graph = knn_graph(points, num_neighbors)
    operator_bytes = (n + graph.nnz) * fibre**2 * 8
    if operator_bytes > MAX_OPERATOR_BYTES:
        raise UsageError(
            f"k={k} with {n} points and {num_neighbors} neighbours needs a {operator_bytes / 2**30:.1f} GiB "
            f"operator (limit {MAX_OPERATOR_BYTES / 2**30:.0f} GiB); pass a smaller intrinsic_dim or fewer points."
        )
    lap("knn")
    tangents, singular = local_spectra(points, graph, k)
    if not dimension_spectrum.size:
        variance = singular**2
        dimension_spectrum = (variance / np.maximum(variance.sum(1, keepdims=True), 1e-300)).mean(0)
    lap("tangents")
    upper = scipy.sparse.triu(graph, 1).tocoo()
    sources, targets = upper.row.astype(np.int64), upper.col.astype(np.int64)
    transports = edge_transport(tangents, sources, targets)
    lap("connection")
    laplacian = connection_laplacian(graph, transports, sources, targets)
    lap("laplacian")
    eigenvalues, eigenvectors, solver = smallest_eigenpairs(
        laplacian, points, tangents, num_eigenpairs, num_neighbors, rng,
        coarsening=coarsening, refine_iterations=refine_iterations, backend=backend, device=device,
    )
    eigenvalues = np.maximum(eigenvalues, 0.0)  # PSD: tiny negatives are round-off
    lap("eigensolver")

    num_null = choose_null_count(eigenvalues, gap_threshold)
    fields = fields_to_matrices(eigenvectors[:, : max(num_null, 1)], k)
    directions, profiles, off_diagonal = joint_diagonalize(fields)
    labels, counts = cluster_directions(profiles, cluster_threshold)
    order = np.argsort(labels, axis=1, kind="stable")
    labels = np.take_along_axis(labels, order, axis=1)
    directions = np.take_along_axis(directions, order[:, None, :], axis=2)
    bases = np.einsum("nkd,nkj->ndj", tangents, directions)
    separable, reasons, gap_ratio = separability_verdict(
        eigenvalues, num_null, fibre, off_diagonal, min_gap_ratio, max_off_diagonal
    )
    if not solver.converged:
        separable = False
        reasons.append(
            f"the eigensolver stopped before converging (residual {max(solver.residual_norms):.3g}); "
            "raise refine_iterations"
        )
    lap("diagonalization")
    return GeomancerResult(
        tangents=tangents, bases=bases, labels=labels, counts=counts, eigenvalues=eigenvalues,
        num_null=num_null, intrinsic_dim=k, dimension_spectrum=dimension_spectrum,
        separable=separable, reasons=reasons, off_diagonal=off_diagonal, gap_ratio=gap_ratio,
        timings=timings, solver=solver,
    )
