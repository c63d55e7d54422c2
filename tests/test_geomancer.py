"""GeoManCEr: known answers for each stage, accuracy on S2xS2, honesty, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from disbench.datasets.product_manifold import ProductManifoldConfig, ProductManifoldDataset
from disbench.errors import DisbenchError, UsageError
from disbench.geomancer import fit_geomancer
from disbench.geomancer import eigensolver
from disbench.geomancer.diagonalize import cluster_directions, joint_diagonalize
from disbench.geomancer.graph import knn_graph, local_spectra, polar_factor
from disbench.geomancer.laplacian import assemble_blocks, connection_laplacian, lift_transport, traceless_basis
from disbench.metrics.subspace_angle import factor_angles, matched_angle


def product_points(spec: str, n: int, seed: int = 0):
    dataset = ProductManifoldDataset(ProductManifoldConfig(spec=spec))
    rng = np.random.default_rng(seed)
    factors = dataset.sample_factors(n, rng)
    return dataset, factors, dataset.observations_from_factors(factors, rng).astype(np.float64)


def random_rotations(rng, count: int, dim: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((count, dim, dim)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


def block_laplacian(rng, n: int, blocks: list[int], trivial: bool = False) -> scipy.sparse.bsr_matrix:
    """Laplacian of a random connected graph whose transports preserve a product split exactly."""
    ring = np.arange(n)
    sources = np.concatenate([ring, rng.integers(0, n, 3 * n)])
    targets = np.concatenate([(ring + 1) % n, rng.integers(0, n, 3 * n)])
    keep = sources != targets
    pairs = np.unique(np.sort(np.stack([sources[keep], targets[keep]], 1), axis=1), axis=0)
    graph = scipy.sparse.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    graph = graph.maximum(graph.T).tocsr()
    k = sum(blocks)
    transports = np.zeros((len(pairs), k, k))
    start = 0
    for size in blocks:
        part = np.eye(size) if trivial else random_rotations(rng, len(pairs), size)
        transports[:, start : start + size, start : start + size] = part
        start += size
    return connection_laplacian(graph, transports, pairs[:, 0], pairs[:, 1])


# --- the operator -------------------------------------------------------------------------


def test_traceless_basis_is_orthonormal_and_trace_free():
    for k in (2, 3, 5):
        basis = traceless_basis(k)
        assert basis.shape == (k * (k + 1) // 2 - 1, k, k)
        np.testing.assert_allclose(np.einsum("aij,bij->ab", basis, basis), np.eye(len(basis)), atol=1e-14)
        np.testing.assert_allclose(np.trace(basis, axis1=1, axis2=2), 0, atol=1e-14)
        np.testing.assert_allclose(basis, np.swapaxes(basis, 1, 2))


def test_lifted_transport_is_the_conjugation_in_coordinates():
    rng = np.random.default_rng(0)
    o = random_rotations(rng, 5, 4)
    basis = traceless_basis(4)
    lifted = lift_transport(o, basis)
    np.testing.assert_allclose(lifted @ np.swapaxes(lifted, 1, 2), np.broadcast_to(np.eye(9), (5, 9, 9)), atol=1e-12)
    coords = rng.standard_normal(9)
    field = np.einsum("b,bij->ij", coords, basis)
    moved = o[2] @ field @ o[2].T
    np.testing.assert_allclose(np.einsum("bij,ij->b", basis, moved), lifted[2] @ coords, atol=1e-12)


def test_laplacian_of_sampled_product_is_symmetric_psd():
    _, _, points = product_points("S2xS2", 150)
    graph = knn_graph(points, 8)
    tangents, _ = local_spectra(points, graph, 4)
    upper = scipy.sparse.triu(graph, 1).tocoo()
    from disbench.geomancer.graph import edge_transport

    transports = edge_transport(tangents, upper.row, upper.col)
    dense = connection_laplacian(graph, transports, upper.row, upper.col).toarray()
    assert np.abs(dense - dense.T).max() <= 1e-10
    assert np.linalg.eigvalsh(dense).min() >= -1e-10


@pytest.mark.parametrize(("blocks", "expected"), [([2, 2], 1), ([2, 2, 2], 2), ([3, 2], 1), ([1, 3], 1)])
def test_null_space_has_the_dimension_theory_gives(blocks, expected):
    """m factors with irreducible holonomy leave m - 1 parallel trace-free fields."""
    values = np.linalg.eigvalsh(block_laplacian(np.random.default_rng(1), 60, blocks).toarray())
    assert np.sum(values < 1e-9) == expected
    assert values[expected] > 1e-3  # and nothing else is near zero


def test_trivial_holonomy_makes_every_field_parallel():
    laplacian = block_laplacian(np.random.default_rng(2), 40, [2, 2], trivial=True)
    values = np.linalg.eigvalsh(laplacian.toarray())
    assert np.sum(values < 1e-9) == 9  # b = k(k+1)/2 - 1 for k = 4


def test_assembled_blocks_land_where_they_belong():
    blocks = np.arange(2 * 4, dtype=float).reshape(2, 2, 2)
    matrix = assemble_blocks(3, np.zeros((3, 2, 2)), np.array([0, 1]), np.array([2, 0]), blocks).toarray()
    np.testing.assert_array_equal(matrix[4:6, 0:2], blocks[0])  # block (target 2, source 0)
    np.testing.assert_array_equal(matrix[0:2, 4:6], blocks[0].T)
    np.testing.assert_array_equal(matrix[0:2, 2:4], blocks[1])


# --- eigensolver, diagonalisation, clustering -------------------------------------------------


def test_cascade_eigensolver_matches_dense(monkeypatch):
    _, _, points = product_points("S2xS2", 250)
    graph = knn_graph(points, 8)
    tangents, _ = local_spectra(points, graph, 4)
    _, laplacian = eigensolver.laplacian_on(points, tangents, 8)
    exact_values, exact_vectors = np.linalg.eigh(laplacian.toarray())
    monkeypatch.setattr(eigensolver, "DENSE_UNKNOWNS", 300)
    values, vectors, info = eigensolver.smallest_eigenpairs(
        laplacian, points, tangents, 6, 8, np.random.default_rng(0), coarsening=4, relative_tolerance=0.02
    )
    assert len(info.level_sizes) >= 2 and info.solver == "cascade-lobpcg"
    np.testing.assert_allclose(values[:2], exact_values[:2], rtol=0.05)
    assert abs(vectors[:, 0] @ exact_vectors[:, 0]) > 0.99  # the near-null field itself


def test_joint_diagonalization_recovers_common_eigenvectors():
    rng = np.random.default_rng(0)
    w_true = random_rotations(rng, 200, 5)
    psi = rng.standard_normal((200, 3, 5))
    matrices = np.einsum("nij,nmj,nlj->nmil", w_true, psi, w_true)  # W diag(psi_m) W^T
    w, profiles, off = joint_diagonalize(matrices)
    overlap = np.abs(np.einsum("nij,nil->njl", w_true, w))
    assert overlap.max(axis=2).min() > 1 - 1e-9  # each true direction is a found one
    match = overlap.argmax(axis=2)  # found column for each true column
    recovered = np.take_along_axis(profiles, match[:, None, :], axis=2)
    np.testing.assert_allclose(recovered, psi, atol=1e-9)
    assert off.max() < 1e-12


def test_non_commuting_matrices_leave_off_diagonal_energy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 2, 3, 3))
    _, _, off = joint_diagonalize(a + np.swapaxes(a, 2, 3))
    assert off.min() > 1e-3


def test_clustering_groups_directions_by_profile():
    profiles = np.array([[[1.0, 1.0, -1.0, -1.0]], [[1.0, -1.0, 1.0, -1.0]]])
    labels, counts = cluster_directions(profiles)
    np.testing.assert_array_equal(labels, [[0, 0, 1, 1], [0, 1, 0, 1]])
    np.testing.assert_array_equal(counts, [2, 2])
    chain = np.array([[[1.0, 0.7, 0.0], [0.0, 0.7, 1.0]]])  # 0~1 and 1~2 but not 0~2: one factor
    assert cluster_directions(chain)[1][0] == 1


def test_polar_factor_is_orthogonal_and_closest():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((4, 3, 3))
    o = polar_factor(m)
    np.testing.assert_allclose(o @ np.swapaxes(o, 1, 2), np.broadcast_to(np.eye(3), o.shape), atol=1e-12)
    sym = np.swapaxes(o, 1, 2) @ m  # O^T M is symmetric PSD for the polar factor
    np.testing.assert_allclose(sym, np.swapaxes(sym, 1, 2), atol=1e-12)


# --- the whole fit ------------------------------------------------------------------------------


def test_s2xs2_at_1000_points_reaches_the_reference_accuracy():
    dataset, factors, points = product_points("S2xS2", 1000)
    result = fit_geomancer(points, 4, rng=np.random.default_rng(1))
    assert result.separable and result.num_factors == 2
    assert result.right_count_fraction > 0.95
    angle = matched_angle(factor_angles(dataset.true_tangents(factors), result.bases, result.labels), result.counts)
    assert angle.mean() <= 0.40  # the reference algorithm: 0.38 rad at this N
    np.testing.assert_allclose(np.einsum("ndi,ndj->nij", result.bases, result.bases), np.broadcast_to(np.eye(4), (1000, 4, 4)), atol=1e-10)


def test_intrinsic_dimension_is_estimated():
    _, _, points = product_points("S2xS2", 600)
    result = fit_geomancer(points, None, rng=np.random.default_rng(1))
    assert result.intrinsic_dim == 4


def test_flat_torus_is_flagged_not_separable():
    _, _, points = product_points("S1xS1", 800)
    result = fit_geomancer(points, 2, num_neighbors=6, rng=np.random.default_rng(1))
    assert not result.separable
    assert any("trivial holonomy" in reason for reason in result.reasons)


def test_single_sphere_has_no_clear_gap():
    _, _, points = product_points("S2", 800)
    result = fit_geomancer(points, 2, num_neighbors=6, rng=np.random.default_rng(1))
    assert not result.separable


def test_fit_is_reproducible():
    _, _, points = product_points("S2xS2", 500)
    a = fit_geomancer(points, 4, rng=np.random.default_rng(3))
    b = fit_geomancer(points, 4, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(a.bases, b.bases)


# --- bad input: one clear line each ---------------------------------------------------------------


def test_too_few_points_for_the_neighbour_count():
    with pytest.raises(UsageError, match="6 points but 8 neighbours"):
        fit_geomancer(product_points("S2xS2", 6)[2], 4)


def test_dimension_larger_than_ambient():
    with pytest.raises(UsageError, match="k=7 must lie between 1 and the ambient dimension D=6"):
        fit_geomancer(product_points("S2xS2", 50)[2], 7)


def test_duplicate_points():
    points = product_points("S2xS2", 50)[2]
    with pytest.raises(UsageError, match="1 duplicate points"):
        fit_geomancer(np.concatenate([points, points[:1]]), 4)


def test_nan_points():
    points = product_points("S2xS2", 50)[2]
    points[7, 2] = np.nan
    with pytest.raises(UsageError, match="NaN or infinite values .*first at row 7"):
        fit_geomancer(points, 4)


def test_disconnected_graph_says_raise_neighbours():
    points = product_points("S2xS2", 100)[2]
    with pytest.raises(DisbenchError, match="2 disconnected parts; raise num_neighbors"):
        fit_geomancer(np.concatenate([points, points + 100.0]), 4)


def test_error_messages_are_one_line():
    with pytest.raises(UsageError) as info:
        fit_geomancer(product_points("S2xS2", 6)[2], 4)
    assert "\n" not in str(info.value)


def test_operator_too_large_for_memory_is_refused(monkeypatch):
    from disbench.geomancer import algorithm

    monkeypatch.setattr(algorithm, "MAX_OPERATOR_BYTES", 2**20)
    with pytest.raises(UsageError, match=r"GiB operator .*pass a smaller intrinsic_dim or fewer points"):
        fit_geomancer(product_points("S2xS2", 300)[2], 4)
