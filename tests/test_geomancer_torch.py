"""GeoManCEr's torch backend (the GPU path), exercised on CPU tensors against the numpy backend."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from disbench.config import build_config
from disbench.errors import UsageError
from disbench.geomancer import eigensolver, fit_geomancer
from disbench.geomancer.graph import knn_graph, local_spectra
from disbench.metrics.subspace_angle import factor_angles, matched_angle
from tests.test_geomancer import product_points


def test_torch_lobpcg_finds_the_smallest_eigenpairs_of_a_known_spectrum():
    import torch

    rng = np.random.default_rng(0)
    n, m = 300, 5
    rotation, _ = np.linalg.qr(rng.standard_normal((n, n)))
    spectrum = np.concatenate([[0.01, 0.02, 0.5, 0.6, 0.7], np.linspace(1.0, 10.0, n - m)])
    matrix = torch.from_numpy((rotation * spectrum) @ rotation.T)
    start = torch.from_numpy(rng.standard_normal((n, m)))
    values, vectors = eigensolver.torch_lobpcg(matrix, start, 1.0 / torch.diagonal(matrix), 60)
    np.testing.assert_allclose(values.numpy(), spectrum[:m], atol=1e-8)
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(m), atol=1e-10)
    # the found block spans the true eigenvectors: every principal cosine is 1
    cosines = np.linalg.svd(rotation[:, :m].T @ vectors.numpy(), compute_uv=False)
    np.testing.assert_allclose(cosines, 1.0, atol=1e-8)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_cascade_matches_dense_with_either_backend(monkeypatch, backend):
    _, _, points = product_points("S2xS2", 250)
    tangents, _ = local_spectra(points, knn_graph(points, 8), 4)
    _, laplacian = eigensolver.laplacian_on(points, tangents, 8)
    exact_values, exact_vectors = np.linalg.eigh(laplacian.toarray())
    monkeypatch.setattr(eigensolver, "DENSE_UNKNOWNS", 300)
    values, vectors, info = eigensolver.smallest_eigenpairs(
        laplacian, points, tangents, 6, 8, np.random.default_rng(0), coarsening=4, relative_tolerance=0.02,
        backend=backend,
    )
    assert info.solver == {"numpy": "cascade-lobpcg", "torch": "cascade-lobpcg-torch"}[backend]
    assert isinstance(values, np.ndarray) and isinstance(vectors, np.ndarray)
    np.testing.assert_allclose(values[:2], exact_values[:2], rtol=0.05)
    assert abs(vectors[:, 0] @ exact_vectors[:, 0]) > 0.99


def test_torch_backend_on_cpu_agrees_with_numpy_on_s2xs2():
    dataset, factors, points = product_points("S2xS2", 1000)
    truth = dataset.true_tangents(factors)
    fits = {b: fit_geomancer(points, 4, rng=np.random.default_rng(1), backend=b) for b in ("numpy", "torch")}
    ref, ours = fits["numpy"], fits["torch"]
    assert ours.solver.solver == "cascade-lobpcg-torch" and ours.solver.converged
    assert len(ours.solver.level_sizes) >= 2  # the cascade ran: a refined fine level, not a dense solve
    # Both are Ritz values from solves stopped by the same residual test. By Kato-Temple each
    # lies above the true lambda_0 by at most r_0^2 / (lambda_1 - lambda_0), so they differ by
    # at most the sum of the two bounds; the rest (a tight cluster, where the gap bound is
    # useless) each lie within their residual norm of the spectrum.
    r_ref, r_ours = np.array(ref.solver.residual_norms), np.array(ours.solver.residual_norms)
    gap = ref.eigenvalues[1] - ref.eigenvalues[0]
    assert abs(ours.eigenvalues[0] - ref.eigenvalues[0]) <= (r_ref[0] ** 2 + r_ours[0] ** 2) / gap
    assert np.all(np.abs(ours.eigenvalues - ref.eigenvalues) <= np.maximum(r_ref, r_ours))
    assert (ours.num_factors, ours.separable, ours.num_null) == (ref.num_factors, ref.separable, ref.num_null) == (2, True, 1)
    assert min(ours.gap_ratio, ref.gap_ratio) > 4.0  # the clear gap (the ratio's denominator lies in the cluster)
    angle = {b: matched_angle(factor_angles(truth, f.bases, f.labels), f.counts) for b, f in fits.items()}
    assert abs(angle["torch"].mean() - angle["numpy"].mean()) < 0.01
    assert np.mean(ours.counts == ref.counts) > 0.99


def test_unknown_backend_is_one_line_usage_error():
    from disbench.methods import METHODS

    cls = METHODS.get("geomancer")
    with pytest.raises(UsageError, match="key 'backend' must be one of auto, numpy, torch, got 'jax'") as caught:
        build_config(cls.Config, {"backend": "jax"}, "method 'geomancer'")
    assert "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="unknown geomancer backend 'cupy'; use one of: numpy, torch"):
        fit_geomancer(product_points("S2xS2", 50)[2], 4, backend="cupy")


def test_auto_backend_follows_the_device():
    from disbench.methods.geomancer import resolve_backend

    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("auto", "cuda:1") == "torch"
    assert resolve_backend("auto", "cpu") == "numpy"
    assert resolve_backend("numpy", "cuda:0") == "numpy"
    assert resolve_backend("torch", "cpu") == "torch"


def test_method_with_torch_backend_fits_on_cpu():
    from disbench.datasets.product_manifold import ProductManifoldConfig, ProductManifoldDataset
    from disbench.methods import METHODS

    cls = METHODS.get("geomancer")
    config = build_config(cls.Config, {"num_points": "800", "intrinsic_dim": "4", "backend": "torch"}, "method 'geomancer'")
    method = cls(config, ProductManifoldDataset(ProductManifoldConfig(spec="S2xS2")), seed=0)
    method.fit_arrays(np.random.default_rng(0))
    assert method.fit_report["solver"] == "cascade-lobpcg-torch"
    assert method.fit_report["separable"] and method.fit_report["num_factors"] == 2


def test_geomancer_modules_do_not_import_torch():  # (the methods package imports torch for the others)
    code = (
        "import sys, disbench.geomancer, disbench.geomancer.eigensolver; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
