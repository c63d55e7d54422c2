"""Synthetic content/style data (von Kugelgen et al. 2021), and its generalisation to M style groups.

Latents ``z = (content, style_1, ..., style_M)``, each block standard normal, are
mixed into observations ``x = f(z)`` by a frozen random invertible MLP: square,
bias-free linear layers with weights uniform in [-1, 1] and unit-norm columns,
each rejection-sampled to be well conditioned, with LeakyReLU(0.2) between them.
The mixing is seeded by the dataset's own ``mixing_seed``, never by the run seed,
so every run sees the same function.

Two modes:

- ``reference`` (the default; ``main_mlp.py`` and ``invertible_network_utils.py`` of
  ysharma1126/ssl_identifiability): 5 content and 5 style dimensions (one style
  group); a view keeps the content and *perturbs* the style, ``s + N(0, 1)`` on each
  coordinate with probability ``style_change_probability`` (the reference's
  ``--style-change-prob``, default 1); each layer ``y = W x`` is accepted when its
  condition number is at most the 0.1% quantile of the condition numbers of 25,000
  matrices drawn the same way (``cond_thresh_ratio=0.001``, ``n_iter_cond_thresh=25000``).
- ``groups`` (disbench's generalisation, the data of the earlier claim): 3 content
  dimensions and 2 style groups of 2; the key of group m keeps content and group m
  and *redraws* every other style group whole; layers ``y = W^T x`` accepted at
  condition number <= ``max_condition``.

In both modes a key of group m keeps group m and changes every other style group,
and the content key changes every style group, so M style groups give the views of
multi-space SSL; with one group (the reference) the group's key equals the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from disbench.datasets.base import CONTENT, Dataset, DatasetConfig, Factor, Views
from disbench.datasets.registry import DATASETS

#: the reference's condition-number rule: threshold at this quantile of this many sampled matrices
REFERENCE_CONDITION_QUANTILE = 0.001
REFERENCE_CONDITION_POOL = 25_000
#: per mode: content dims, style dims per group, style groups
MODE_SHAPES = {"reference": (5, 5, 1), "groups": (3, 2, 2)}


@dataclass
class SyntheticConfig(DatasetConfig):
    """Attributes:
    mode: ``reference`` (von Kugelgen et al.'s data: perturbed style, their condition rule)
        or ``groups`` (disbench's M-group data: redrawn style groups, ``max_condition``).
    content_dims: dimensions of the content block (reference 5, groups 3).
    style_dims: dimensions of each style block (reference 5, groups 2).
    num_styles: number of style groups M, each with its own view pairs (reference 1, groups 2).
    style_change_probability: ``reference`` mode: chance that a view changes a style coordinate.
    mixing_layers: linear layers in the mixing MLP.
    mixing_seed: seed of the frozen mixing function.
    max_condition: ``groups`` mode: largest accepted condition number of each mixing matrix.
    """

    mode: Literal["reference", "groups"] = "reference"
    content_dims: int | None = None
    style_dims: int | None = None
    num_styles: int | None = None
    style_change_probability: float = 1.0
    mixing_layers: int = 3
    mixing_seed: int = 0
    max_condition: float = 25.0

    def __post_init__(self) -> None:
        if self.mode not in MODE_SHAPES:
            raise ValueError(f"mode must be one of {', '.join(MODE_SHAPES)}, got {self.mode!r}")
        for key, default in zip(("content_dims", "style_dims", "num_styles"), MODE_SHAPES[self.mode]):
            if getattr(self, key) is None:
                setattr(self, key, default)
        for key in ("content_dims", "style_dims", "num_styles", "mixing_layers"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.max_condition <= 1:
            raise ValueError(f"max_condition must exceed 1, got {self.max_condition}")
        if not 0.0 < self.style_change_probability <= 1.0:
            raise ValueError(f"style_change_probability must be in (0, 1], got {self.style_change_probability}")


def _unit_column_matrices(count: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """``(count, dim, dim)`` matrices, entries uniform in [-1, 1], each column scaled to unit norm."""
    weights = rng.uniform(-1.0, 1.0, size=(count, dim, dim))
    return weights / np.linalg.norm(weights, axis=1, keepdims=True)


def reference_condition_threshold(dim: int, rng: np.random.Generator) -> float:
    """The reference's acceptance threshold: the condition number at the 0.1% quantile of 25,000 draws.

    As ``construct_invertible_mlp`` (``condList.sort(); condList[int(25000 * 0.001)]``).
    """
    conditions = np.sort(np.linalg.cond(_unit_column_matrices(REFERENCE_CONDITION_POOL, dim, rng)))
    return float(conditions[int(REFERENCE_CONDITION_POOL * REFERENCE_CONDITION_QUANTILE)])


def well_conditioned_matrix(dim: int, max_condition: float, rng: np.random.Generator) -> np.ndarray:
    """A ``dim x dim`` matrix, entries uniform in [-1, 1], unit-norm columns, condition <= max_condition."""
    for _ in range(10_000):
        weights = rng.uniform(-1.0, 1.0, size=(dim, dim))
        weights /= np.linalg.norm(weights, axis=0, keepdims=True)
        if np.linalg.cond(weights) <= max_condition:
            return weights
    raise RuntimeError(f"no {dim}x{dim} matrix with condition <= {max_condition} found; raise max_condition")


@lru_cache(maxsize=8)
def reference_mixing(dim: int, layers: int, seed: int) -> tuple[float, tuple[np.ndarray, ...]]:
    """The reference's threshold and its accepted matrices ``W`` (unit columns), drawn 100 at a time.

    Cached: the 25,000 condition numbers take about a second, and every run, evaluation and
    test that builds the dataset needs the same matrices.
    """
    rng = np.random.default_rng(seed)
    threshold = reference_condition_threshold(dim, rng)
    matrices = []
    while len(matrices) < layers:
        batch = _unit_column_matrices(100, dim, rng)
        matrices += [m for m in batch[np.linalg.cond(batch) <= threshold]]
    for matrix in matrices:
        matrix.setflags(write=False)
    return threshold, tuple(matrices[:layers])


def leaky_relu(x: np.ndarray, slope: float = 0.2) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


@DATASETS.register("synthetic")
class SyntheticDataset(Dataset):
    """Content + M style latent blocks mixed by a frozen invertible MLP into float vectors."""

    Config = SyntheticConfig
    summary = "Gaussian content/style latents through a frozen invertible MLP (von Kugelgen et al. 2021)"

    def __init__(self, config: SyntheticConfig | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        self.style_groups = [f"group{m + 1}" for m in range(cfg.num_styles)]
        self.factors = [Factor(f"content[{i}]", CONTENT) for i in range(cfg.content_dims)]
        for group in self.style_groups:
            self.factors += [Factor(f"{group}[{i}]", group) for i in range(cfg.style_dims)]
        dim = len(self.factors)
        self.observation_shape = (dim,)
        if cfg.mode == "reference":
            self.condition_threshold, matrices = reference_mixing(dim, cfg.mixing_layers, cfg.mixing_seed)
            # nn.Linear computes y = W x: the columns of W are unit, so x @ W.T
            self.mixing = [matrix.T for matrix in matrices]
        else:
            mixing_rng = np.random.default_rng(cfg.mixing_seed)
            self.condition_threshold = cfg.max_condition
            self.mixing = [
                well_conditioned_matrix(dim, cfg.max_condition, mixing_rng) for _ in range(cfg.mixing_layers)
            ]

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, len(self.factors)))

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(factors, dtype=np.float64)
        for layer, weights in enumerate(self.mixing):
            x = x @ weights
            if layer < len(self.mixing) - 1:
                x = leaky_relu(x)
        return x.astype(np.float32)

    def perturb_styles(self, factors: np.ndarray, groups: list[str], rng: np.random.Generator) -> np.ndarray:
        """``factors`` with each coordinate of ``groups`` changed by N(0, 1) with probability p (a copy)."""
        columns = [i for g in groups for i in self.group_factor_indices(g)]
        out = np.array(factors, dtype=np.float64, copy=True)
        change = rng.uniform(size=(len(out), len(columns))) < self.config.style_change_probability
        out[:, columns] += change * rng.standard_normal((len(out), len(columns)))
        return out

    def sample_views(self, n: int, rng: np.random.Generator) -> Views:
        """Groups mode: the base class's redrawn groups; reference mode: perturbed style groups."""
        if self.config.mode == "groups":
            return super().sample_views(n, rng)
        query = self.sample_factors(n, rng)

        def key_changing(groups: list[str]) -> np.ndarray:
            return self.observations_from_factors(self.perturb_styles(query, groups, rng), rng)

        return Views(
            query=self.observations_from_factors(query, rng),
            content_key=key_changing(self.style_groups),
            group_keys={g: key_changing([o for o in self.style_groups if o != g]) for g in self.style_groups},
            query_factors=query,
        )
