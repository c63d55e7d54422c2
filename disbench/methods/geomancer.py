"""GeoManCEr as a disbench method (Pfau, Higgins, Botev, Racaniere 2020).

GeoManCEr splits the tangent space of a product manifold into its factors' tangent
spaces, from the points alone, through their holonomy (see :mod:`disbench.geomancer`).
It learns no encoder: it is transductive. ``fit_arrays`` samples ``num_points``
observations from the dataset (flattened to vectors) and fits on them, keeping their
true factors so that :meth:`Geomancer.fitted_sample` can hand the fitted points to the
``subspace-angle`` metric, which scores them by default as the reference does.
``encode`` returns, per observation, its factor subspaces:

- an observation that is one of the fitted points gets that point's split;
- any other observation gets its tangent space by local PCA over its ``num_neighbors``
  nearest fitted points, and the split of the nearest fitted point carried into it by
  parallel transport (the polar factor of the two frames' overlap).

The Representation's extras (arrays, one row per observation so that batch-wise
encodings concatenate): ``bases`` ``(N, D, k)`` orthonormal columns grouped by factor,
``factor_labels`` ``(N, k)``, ``factor_counts`` ``(N,)``, and the fit's ``spectrum``
``(N, num_eigenpairs)``, ``num_factors`` ``(N,)`` and ``separable`` ``(N,)`` (bool), the
same on every row. GeoManCEr has no codes, so the
one space, ``"points"``, holds the observations themselves as ``(N, D)`` vectors: codes
metrics run on it score the raw data (a reference line), never GeoManCEr.

Limits: factors with trivial holonomy (intervals, circles, flat tori, so every dSprites
factor) cannot be separated; the fit then says ``separable: false`` with its reasons in
``fit_report`` (and warns) rather than returning a confident split.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from disbench.errors import UsageError
from disbench.methods.base import Method, MethodConfig
from disbench.methods.registry import METHODS
from disbench.methods.representation import Representation

#: values of ``GeomancerConfig.backend``
BACKEND_CHOICES = ("auto", "numpy", "torch")


def resolve_backend(backend: str, device: str) -> str:
    """``"auto"`` becomes ``"torch"`` on a CUDA device and ``"numpy"`` elsewhere; others stay."""
    if backend == "auto":
        return "torch" if str(device).startswith("cuda") else "numpy"
    return backend


@dataclass
class GeomancerConfig(MethodConfig):
    """Attributes:
    num_points: points sampled from the dataset to fit on (N).
    intrinsic_dim: manifold dimension k; 0 estimates it from the local PCA spectrum.
    num_neighbors: kNN count; 0 means 2 k.
    num_eigenpairs: smallest Laplacian eigenpairs computed.
    gap_threshold: eigenvalues below it count as null; 0 uses the largest gap.
    min_gap_ratio: a clear gap is at least this times every other gap in the spectrum.
    max_off_diagonal: the near-null fields must commute up to this off-diagonal share.
    cluster_threshold: cosine of diagonal profiles above which directions share a factor.
    coarsening: point ratio between eigensolver levels.
    refine_iterations: LOBPCG iterations per eigensolver level.
    backend: who refines the eigenpairs: ``"numpy"`` (scipy, CPU), ``"torch"`` (our block
        LOBPCG on torch sparse CSR tensors, on the run's device), or ``"auto"`` (torch when
        the run's device is CUDA, numpy otherwise).
    """

    num_points: int = 2000
    intrinsic_dim: int = 0
    num_neighbors: int = 0
    num_eigenpairs: int = 10
    gap_threshold: float = 0.0
    min_gap_ratio: float = 2.0
    max_off_diagonal: float = 0.1
    cluster_threshold: float = 0.5
    coarsening: int = 8
    refine_iterations: int = 12
    backend: Literal["auto", "numpy", "torch"] = "auto"

    def __post_init__(self) -> None:
        for key in ("num_points", "num_eigenpairs", "refine_iterations"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        for key in ("intrinsic_dim", "num_neighbors", "gap_threshold"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0 (0 means automatic), got {getattr(self, key)}")
        if self.coarsening < 2:
            raise ValueError(f"coarsening must be at least 2, got {self.coarsening}")
        if self.backend not in BACKEND_CHOICES:
            raise ValueError(f"backend must be one of {', '.join(BACKEND_CHOICES)}, got {self.backend!r}")


@METHODS.register("geomancer")
class Geomancer(Method):
    """Per-point factor subspaces of a product manifold from its points (no training)."""

    Config = GeomancerConfig
    summary = "GeoManCEr: factor subspaces from the second-order connection Laplacian (transductive)"
    reference = "Pfau, Higgins, Botev, Racaniere 2020, Disentangling by Subspace Diffusion"
    applies_to = ("product-manifold",)

    def __init__(self, config: GeomancerConfig, dataset, seed: int, device: str = "cpu") -> None:
        super().__init__(config, dataset, seed, device)
        self.points: np.ndarray | None = None
        self.factors: np.ndarray | None = None  # true factors of the fitted points (for evaluation only)
        self.tangents: np.ndarray | None = None
        self.directions: np.ndarray | None = None  # (N, k, k): the split in each point's tangent frame
        self.labels: np.ndarray | None = None
        self.counts: np.ndarray | None = None
        self.spectrum: np.ndarray | None = None
        self.fit_report: dict[str, Any] = {}

    def fit_arrays(self, rng: np.random.Generator) -> None:
        from disbench.geomancer import fit_geomancer

        cfg = self.config
        observations, factors = self.dataset.sample(cfg.num_points, rng)
        points = observations.reshape(len(observations), -1).astype(np.float64)
        result = fit_geomancer(
            points,
            intrinsic_dim=cfg.intrinsic_dim or None,
            num_neighbors=cfg.num_neighbors or None,
            num_eigenpairs=cfg.num_eigenpairs,
            gap_threshold=cfg.gap_threshold or None,
            rng=rng,
            min_gap_ratio=cfg.min_gap_ratio,
            max_off_diagonal=cfg.max_off_diagonal,
            cluster_threshold=cfg.cluster_threshold,
            coarsening=cfg.coarsening,
            refine_iterations=cfg.refine_iterations,
            backend=resolve_backend(cfg.backend, self.device),
            device=str(self.device),
        )
        self.points, self.factors, self.tangents = points, np.asarray(factors, dtype=np.float64), result.tangents
        self.directions = np.einsum("nkd,ndj->nkj", result.tangents, result.bases)
        self.labels, self.counts, self.spectrum = result.labels, result.counts, result.eigenvalues
        self.fit_report = {
            "separable": result.separable,
            "reasons": list(result.reasons),
            "num_factors": result.num_factors,
            "intrinsic_dim": result.intrinsic_dim,
            "gap_ratio": result.gap_ratio,
            "right_count_fraction": result.right_count_fraction,
            "mean_off_diagonal": float(result.off_diagonal.mean()),
            "timings": dict(result.timings),
            "solver": result.solver.solver,
        }
        if not result.separable:
            warnings.warn("geomancer: factors not separable: " + "; ".join(result.reasons), stacklevel=2)

    def fitted_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The fitted points and their true factors: what the reference evaluates.

        Raises:
            UsageError: the checkpoint predates disbench keeping the fitted points' factors.
        """
        self._require_fit()
        if self.factors is None:
            raise UsageError(
                "this geomancer checkpoint does not hold its fitted points' factors (written by an older disbench); "
                "retrain it with `disbench train ... --overwrite`, or score new points with --set subspace-angle.points=sampled."
            )
        return self.points, self.factors

    def _require_fit(self) -> None:
        if self.points is None:
            raise UsageError("geomancer has not been fitted; run fit (disbench train) before encode.")

    def encode(self, observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        from sklearn.neighbors import NearestNeighbors

        from disbench.geomancer.graph import polar_factor

        self._require_fit()
        queries = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
        if queries.shape[1] != self.points.shape[1]:
            raise UsageError(
                f"geomancer was fitted on {self.points.shape[1]}-dimensional points, got {queries.shape[1]}."
            )
        k = self.tangents.shape[1]
        r = min(max(2 * k, k + 1), len(self.points))
        distance, neighbors = NearestNeighbors(n_neighbors=r).fit(self.points).kneighbors(queries)
        nearest = neighbors[:, 0]
        offsets = self.points[neighbors] - queries[:, None, :]
        frames = np.linalg.svd(offsets, full_matrices=False)[2][:, :k]  # (Q, k, D) local PCA
        exact = distance[:, 0] == 0
        frames[exact] = self.tangents[nearest[exact]]
        transport = polar_factor(frames @ np.swapaxes(self.tangents[nearest], 1, 2))  # nearest -> query frame
        directions = transport @ self.directions[nearest]
        bases = np.einsum("qkd,qkj->qdj", frames, directions)
        count = len(queries)
        extras = {  # every entry is per observation, so batch-wise encodings concatenate
            "bases": bases,
            "factor_labels": self.labels[nearest],
            "factor_counts": self.counts[nearest],
            "spectrum": np.broadcast_to(self.spectrum, (count, len(self.spectrum))).copy(),
            "num_factors": np.full(count, self.fit_report["num_factors"]),
            "separable": np.full(count, bool(self.fit_report["separable"])),
        }
        return Representation({"points": queries.astype(np.float32)}, extras)

    _ARRAYS = ("points", "tangents", "directions", "labels", "counts", "spectrum")
    _OPTIONAL_ARRAYS = ("factors",)  # encoding does without them: a checkpoint may lack them

    def state_dict(self) -> dict[str, Any]:
        """The fitted points and their splits as tensors, the fit report as plain values."""
        import torch

        self._require_fit()
        state: dict[str, Any] = {
            key: torch.from_numpy(np.ascontiguousarray(getattr(self, key)))
            for key in self._ARRAYS + self._OPTIONAL_ARRAYS
            if getattr(self, key) is not None
        }
        state["fit_report"] = dict(self.fit_report)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in self._ARRAYS + self._OPTIONAL_ARRAYS:
            value = state[key] if key in self._ARRAYS else state.get(key)
            if value is not None:
                value = value.cpu().numpy() if hasattr(value, "cpu") else np.asarray(value)
            setattr(self, key, value)
        self.fit_report = dict(state["fit_report"])
