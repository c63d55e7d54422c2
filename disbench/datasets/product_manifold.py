"""Points on products of spheres and rotation groups, with their true tangent spaces.

A specification such as ``S2xS2``, ``SO3xS2`` or ``S2xS4xSO3`` names the factors:
``Sn`` is the unit sphere in R^{n+1} (uniform: normalised Gaussian samples), ``SOn`` the
rotation group (Haar samples, flattened to n*n coordinates). A point is the
concatenation of one point per factor, optionally rotated by a fixed random orthogonal
matrix and passed through a fixed random smooth embedding
``x -> A x + strength * tanh(W x + c)`` (A with orthonormal columns, W scaled so the map
stays an immersion), all drawn from ``embedding_seed``.

Disbench contract: each factor is a transformation group (``S2#1``, ``S2#2``, ...), its
continuous ground-truth factors are its ambient coordinates before rotation and embedding
(so ``sample_factors`` returns the product point itself), there is no content group, and
structured views share one component while the others are redrawn.
:meth:`ProductManifoldDataset.true_tangents` gives each factor's tangent subspace in
observation space, as the ``subspace-angle`` metric needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from disbench.datasets.base import Dataset, DatasetConfig, Factor
from disbench.datasets.registry import DATASETS
from disbench.errors import UsageError

_COMPONENT = re.compile(r"^(S|SO)(\d+)$")


@dataclass(frozen=True)
class Component:
    """One factor manifold: ``kind`` "S" (sphere S^n) or "SO" (group SO(n))."""

    kind: str
    n: int

    @property
    def label(self) -> str:
        return f"{self.kind}{self.n}"

    @property
    def ambient_dim(self) -> int:
        return self.n + 1 if self.kind == "S" else self.n * self.n

    @property
    def intrinsic_dim(self) -> int:
        return self.n if self.kind == "S" else self.n * (self.n - 1) // 2

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """``(count, ambient_dim)`` uniform (Haar) samples."""
        if self.kind == "S":
            x = rng.standard_normal((count, self.n + 1))
            return x / np.linalg.norm(x, axis=1, keepdims=True)
        q, r = np.linalg.qr(rng.standard_normal((count, self.n, self.n)))
        q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]  # Haar on O(n)
        flip = np.linalg.det(q) < 0
        q[flip, :, 0] *= -1  # into SO(n), still Haar
        return q.reshape(count, -1)

    def tangents(self, x: np.ndarray) -> np.ndarray:
        """Orthonormal tangent bases at points ``x`` ``(N, ambient_dim)``: ``(N, ambient_dim, d)``."""
        if self.kind == "S":
            # Householder reflection sending e_0 to +-x: its other columns span x's complement
            e0 = np.zeros(self.n + 1)
            e0[0] = 1.0
            sign = np.where(x[:, :1] >= 0, 1.0, -1.0)
            v = x + sign * e0
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            reflection = np.eye(self.n + 1) - 2.0 * v[:, :, None] * v[:, None, :]
            return reflection[:, :, 1:]
        n = self.n
        rotation = x.reshape(-1, n, n)
        p, q = np.triu_indices(n, 1)
        skew = np.zeros((len(p), n, n))
        skew[np.arange(len(p)), p, q] = 1 / np.sqrt(2)
        skew[np.arange(len(p)), q, p] = -1 / np.sqrt(2)
        directions = np.einsum("nij,ajk->naik", rotation, skew)  # R * Omega_a, orthonormal
        return directions.reshape(len(x), len(p), n * n).transpose(0, 2, 1)


def parse_spec(spec: str) -> list[Component]:
    """``"S2xSO3"`` -> components; a clear UsageError for anything else."""
    parts = [p.strip() for p in spec.strip().split("x")] if spec else []
    components = []
    for part in parts:
        match = _COMPONENT.match(part)
        if not match or int(match.group(2)) < (1 if match.group(1) == "S" else 2):
            raise UsageError(
                f"cannot parse product-manifold spec {spec!r} at {part!r}: use factors Sn (n >= 1) "
                "or SOn (n >= 2) joined by 'x', e.g. S2xS2 or SO3xS2."
            )
        components.append(Component(match.group(1), int(match.group(2))))
    if not components:
        raise UsageError("product-manifold spec is empty; give factors joined by 'x', e.g. S2xS2.")
    return components


@dataclass
class ProductManifoldConfig(DatasetConfig):
    """Attributes:
    spec: factors joined by 'x' (``S2xS2``, ``SO3xS2``, ``S2xS4xSO3``).
    rotate: apply a fixed random rotation of the ambient space.
    embedding: ``"none"`` or ``"nonlinear"`` (the fixed random smooth map of the module docstring).
    embedding_dim: output dimension of the nonlinear embedding (0: the ambient dimension).
    embedding_strength: size of its nonlinear part.
    embedding_seed: seed of the rotation and embedding (never the run seed).
    """

    spec: str = "S2xS2"
    rotate: bool = False
    embedding: str = "none"
    embedding_dim: int = 0
    embedding_strength: float = 0.3
    embedding_seed: int = 0

    def __post_init__(self) -> None:
        parse_spec(self.spec)
        if self.embedding not in ("none", "nonlinear"):
            raise ValueError(f"embedding must be 'none' or 'nonlinear', got {self.embedding!r}")
        if self.embedding_dim < 0:
            raise ValueError(f"embedding_dim must be >= 0, got {self.embedding_dim}")
        if not 0 <= self.embedding_strength < 1:
            raise ValueError(f"embedding_strength must lie in [0, 1), got {self.embedding_strength}")


@DATASETS.register("product-manifold")
class ProductManifoldDataset(Dataset):
    """Uniform samples on a product of spheres and rotation groups (GeoManCEr's benchmark)."""

    Config = ProductManifoldConfig
    summary = "points on products of spheres S^n and groups SO(n), with true tangent spaces"

    def __init__(self, config: ProductManifoldConfig | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        self.components = parse_spec(cfg.spec)
        labels = [c.label for c in self.components]
        self.style_groups = [
            f"{label}#{labels[:i].count(label) + 1}" if labels.count(label) > 1 else label
            for i, label in enumerate(labels)
        ]
        self.factors = [
            Factor(f"{group}[{i}]", group)
            for group, c in zip(self.style_groups, self.components)
            for i in range(c.ambient_dim)
        ]
        self.product_dim = sum(c.ambient_dim for c in self.components)
        self.intrinsic_dim = sum(c.intrinsic_dim for c in self.components)
        embedding_rng = np.random.default_rng(cfg.embedding_seed)
        d = self.product_dim
        self.rotation = np.linalg.qr(embedding_rng.standard_normal((d, d)))[0] if cfg.rotate else None
        self.linear = self.mixing = self.offset = None
        out_dim = d
        if cfg.embedding == "nonlinear":
            out_dim = cfg.embedding_dim or d
            if out_dim < d:
                raise UsageError(f"embedding_dim={out_dim} is below the product's ambient dimension {d}.")
            self.linear = np.linalg.qr(embedding_rng.standard_normal((out_dim, d)))[0]  # orthonormal columns
            mixing = embedding_rng.standard_normal((out_dim, d))
            self.mixing = mixing / np.linalg.norm(mixing, 2)  # spectral norm 1: A + s*J stays injective
            self.offset = embedding_rng.uniform(-1, 1, out_dim)
        self.observation_shape = (out_dim,)

    def split(self, factors: np.ndarray) -> list[np.ndarray]:
        """Product points ``(N, product_dim)`` -> one ``(N, ambient_dim)`` block per component."""
        bounds = np.cumsum([0] + [c.ambient_dim for c in self.components])
        return [factors[:, a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.concatenate([c.sample(n, rng) for c in self.components], axis=1)

    def _embed(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Observations and, for the nonlinear embedding, the tanh derivative ``(N, out)``."""
        if self.rotation is not None:
            x = x @ self.rotation.T
        if self.linear is None:
            return x, None
        hidden = np.tanh(x @ self.mixing.T + self.offset)
        return x @ self.linear.T + self.config.embedding_strength * hidden, 1.0 - hidden**2

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._embed(np.asarray(factors, dtype=np.float64))[0].astype(np.float32)

    def product_tangents(self, factors: np.ndarray) -> list[np.ndarray]:
        """Each component's tangent subspace in the product's own coordinates (before rotation
        and embedding): one ``(N, product_dim, d_j)`` orthonormal basis per component."""
        factors = np.asarray(factors, dtype=np.float64)
        bounds = np.cumsum([0] + [c.ambient_dim for c in self.components])
        out = []
        for c, block, start in zip(self.components, self.split(factors), bounds[:-1]):
            full = np.zeros((len(factors), self.product_dim, c.intrinsic_dim))
            full[:, start : start + c.ambient_dim] = c.tangents(block)
            out.append(full)
        return out

    def true_tangents(self, factors: np.ndarray) -> list[np.ndarray]:
        """Each component's tangent subspace in observation space.

        Args:
            factors: ``(N, product_dim)`` product points (from :meth:`sample_factors`).

        Returns:
            One ``(N, D_obs, d_j)`` orthonormal basis per component.
        """
        factors = np.asarray(factors, dtype=np.float64)
        _, slope = self._embed(factors)
        out = []
        for full in self.product_tangents(factors):
            if self.rotation is not None:
                full = np.einsum("ij,njd->nid", self.rotation, full)
            if self.linear is not None:
                # Jacobian A + s diag(1 - tanh^2) W applied to the tangent vectors
                mixed = np.einsum("ij,njd->nid", self.mixing, full)
                full = np.einsum("ij,njd->nid", self.linear, full) + self.config.embedding_strength * slope[:, :, None] * mixed
                full = np.linalg.qr(full)[0]
            out.append(full)
        return out
