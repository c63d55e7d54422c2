"""Linear baselines from scikit-learn: ``pca`` and ``ica`` (FastICA).

Both are fitted in one call on ``num_fit`` observations drawn from the dataset;
images are flattened. The fitted projection is stored as arrays, so encoding
needs no scikit-learn object and no pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from disbench.errors import DisbenchError
from disbench.methods.base import Method, MethodConfig
from disbench.methods.registry import METHODS
from disbench.methods.representation import Representation


@dataclass
class LinearConfig(MethodConfig):
    """Attributes:
    num_components: code dimensions; 0 means one per ground-truth factor.
    num_fit: observations the projection is fitted on.
    """

    num_components: int = 0
    num_fit: int = 10_000

    def __post_init__(self) -> None:
        if self.num_components < 0:
            raise ValueError(f"num_components must be >= 0, got {self.num_components}")
        if self.num_fit < 2:
            raise ValueError(f"num_fit must be at least 2, got {self.num_fit}")


class LinearProjectionMethod(Method):
    """codes = (x - mean) @ projection.T, with the projection found by :meth:`fit_projection`."""

    Config = LinearConfig

    def __init__(self, config: Any, dataset: Any, seed: int, device: str = "cpu") -> None:
        super().__init__(config, dataset, seed, device)
        self.mean: np.ndarray | None = None
        self.projection: np.ndarray | None = None

    def components(self, num_features: int) -> int:
        wanted = self.config.num_components or len(self.dataset.factors) or 10
        return min(wanted, num_features, self.config.num_fit)

    def fit_projection(self, x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit_arrays(self, rng: np.random.Generator) -> None:
        observations, _ = self.dataset.sample(self.config.num_fit, rng)
        x = observations.reshape(len(observations), -1).astype(np.float64)
        self.mean, self.projection = self.fit_projection(x, self.components(x.shape[1]))

    def encode(self, observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        if self.projection is None or self.mean is None:
            raise DisbenchError(f"{self.name} has not been fitted; train the run first.")
        x = observations.reshape(len(observations), -1).astype(np.float64)
        return Representation({"latent": (x - self.mean) @ self.projection.T})

    def state_dict(self) -> dict[str, Any]:
        import torch

        return {"mean": torch.as_tensor(self.mean), "projection": torch.as_tensor(self.projection)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean = state["mean"].numpy()
        self.projection = state["projection"].numpy()


@METHODS.register("pca")
class PCAMethod(LinearProjectionMethod):
    """Principal components (scikit-learn PCA): a linear, decorrelating baseline."""

    summary = "principal component analysis (linear baseline)"

    def fit_projection(self, x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=n_components, random_state=self.seed).fit(x)
        return pca.mean_, pca.components_


@METHODS.register("ica")
class ICAMethod(LinearProjectionMethod):
    """Independent components (scikit-learn FastICA, unit-variance whitening): a linear, independence-seeking baseline."""

    summary = "independent component analysis, FastICA (linear baseline)"

    def fit_projection(self, x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
        import warnings

        from sklearn.decomposition import FastICA
        from sklearn.exceptions import ConvergenceWarning

        ica = FastICA(n_components=n_components, whiten="unit-variance", random_state=self.seed, max_iter=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ica.fit(x)
        return ica.mean_, ica.components_
