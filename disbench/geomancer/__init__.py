"""GeoManCEr (Pfau, Higgins, Botev, Racaniere 2020), vectorised and scalable.

Modules, in pipeline order:

- :mod:`~disbench.geomancer.graph`: kNN graph, local tangent bases, discrete parallel transport.
- :mod:`~disbench.geomancer.laplacian`: the second-order connection Laplacian on symmetric
  trace-free matrices, in an orthonormal basis (so the operator is symmetric PSD).
- :mod:`~disbench.geomancer.eigensolver`: its smallest eigenpairs (a coarse-to-fine cascade
  over random subsamples, refined by LOBPCG).
- :mod:`~disbench.geomancer.diagonalize`: per-point joint diagonalisation and clustering of
  the diagonalising directions into factors.
- :mod:`~disbench.geomancer.algorithm`: the whole fit, with per-stage timings and the
  separability verdict.
"""

from disbench.geomancer.algorithm import GeomancerResult, fit_geomancer

__all__ = ["GeomancerResult", "fit_geomancer"]
