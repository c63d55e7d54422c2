"""The Dataset contract: ground-truth factors, transformation groups, view pairs.

A dataset knows its factors (names, sizes, discrete or continuous) and its
transformation groups: ``content`` (what self-supervised views share) and one or
more style groups (what augmentations change). Everything else follows from two
primitives that each dataset implements, as in disentanglement_lib:

- :meth:`Dataset.sample_factors` draws factor values (indices for discrete
  factors, real values for continuous ones);
- :meth:`Dataset.observations_from_factors` renders observations for them.

From these the base class builds evaluation samples and the structured views of
multi-space self-supervised learning (Eastwood et al. 2023): for group m a key
that shares content and group m with the query and redraws every other group,
and a content key that shares only content. Datasets whose views come from
augmentations rather than a factor grid (image folders) override
:meth:`Dataset.sample_views`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from disbench.datasets.factors import Factor
from disbench.errors import UsageError

CONTENT = "content"


@dataclass(frozen=True)
class Views:
    """Structured views for one batch of ``n`` examples.

    Attributes:
        query: observations, shape ``(n, *observation_shape)``.
        content_key: shares only the content group with ``query`` (every style group redrawn).
        group_keys: style group name -> views sharing content and that group with ``query``,
            every other style group redrawn.
        query_factors: factor values of the query, shape ``(n, num_factors)`` (NaN where unknown).
    """

    query: np.ndarray
    content_key: np.ndarray
    group_keys: dict[str, np.ndarray]
    query_factors: np.ndarray | None = None


@dataclass
class DatasetConfig:
    """Hyperparameters every dataset has.

    ``path_options`` names the fields that hold a file or folder path; a run records
    them as absolute paths (a subclass with other path fields lists its own).

    Attributes:
        correlations: pairs of discrete factors drawn dependent for training, as Roth et al.
            (``"shape~scale=0.1,x~y=0.1"``; smaller sigma, stronger; :mod:`disbench.datasets.correlation`).
            Empty or ``none``: every factor independent.
        eval_distribution: where evaluation points come from when ``correlations`` is set:
            ``independent`` (the full factor grid, as Roth et al. evaluate) or ``correlated``.
    """

    path_options: ClassVar[tuple[str, ...]] = ("root", "data_dir", "cache_dir")
    #: keys a run's id hashes only when set (see config.spec_values)
    recorded_only_when_set: ClassVar[tuple[str, ...]] = ("correlations", "eval_distribution")

    correlations: str = ""
    eval_distribution: Literal["independent", "correlated"] = "independent"


class Dataset:
    """Base class of every dataset; subclasses register with ``@DATASETS.register``."""

    Config: ClassVar[type] = DatasetConfig
    #: one-line description shown by ``disbench list datasets``
    summary: ClassVar[str] = ""
    registered_name: ClassVar[str] = ""

    def __init__(self, config: Any | None = None) -> None:
        self.config = config if config is not None else self.Config()
        self.factors: list[Factor] = []
        self.style_groups: list[str] = []
        self.observation_shape: tuple[int, ...] = ()

    # --- what each dataset implements --------------------------------------------
    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` factor vectors i.i.d. over the factor distribution, shape ``(n, F)``."""
        raise NotImplementedError

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Observations (float32) for the given factor vectors, shape ``(n, *observation_shape)``."""
        raise NotImplementedError

    # --- derived -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.registered_name or type(self).__name__

    @property
    def factor_names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def groups(self) -> list[str]:
        """Transformation groups, content first."""
        return [CONTENT, *self.style_groups]

    def group_factor_indices(self, group: str) -> list[int]:
        if group not in self.groups:
            raise UsageError(
                f"dataset {self.name!r} has no group {group!r}; its groups are {', '.join(self.groups)}."
            )
        return [i for i, f in enumerate(self.factors) if f.group == group]

    @property
    def has_views(self) -> bool:
        """Whether structured views exist (at least one style group)."""
        return bool(self.style_groups)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` training observations with their factors: i.i.d., with the configured factor correlations."""
        factors = self.training_factors(n, rng)
        return self.observations_from_factors(factors, rng), factors

    @property
    def factor_correlations(self) -> list:
        """The correlated factor pairs of ``config.correlations`` (:class:`~disbench.datasets.correlation.FactorCorrelation`)."""
        from disbench.datasets.correlation import parse_correlations

        spec = getattr(self.config, "correlations", "") or ""
        return parse_correlations(spec, self.factors, self.name)

    def training_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor vectors of the training distribution: :meth:`sample_factors` with the
        configured pairs of factors made dependent (:mod:`disbench.datasets.correlation`)."""
        from disbench.datasets.correlation import sample_correlated

        pairs = self.factor_correlations
        sizes = [int(f.num_values or 0) for f in self.factors]
        return sample_correlated(self.sample_factors, n, pairs, sizes, rng)

    def evaluation_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor vectors of the evaluation points: independent, unless ``eval_distribution`` is ``correlated``."""
        if getattr(self.config, "eval_distribution", "independent") == "correlated":
            return self.training_factors(n, rng)
        return self.sample_factors(n, rng)

    def sample_views(self, n: int, rng: np.random.Generator) -> Views:
        """Structured views drawn from the factor grid (see the module docstring)."""
        if not self.has_views:
            raise UsageError(f"dataset {self.name!r} has no transformation groups, so no structured views.")
        if self.factor_correlations:
            raise UsageError(
                f"dataset {self.name!r}: correlations apply to methods trained on samples (the VAEs, pca), "
                "not to structured views; drop --set dataset.correlations for this method."
            )
        query_factors = self.sample_factors(n, rng)
        content = self.group_factor_indices(CONTENT)

        def key_sharing(shared: list[int]) -> np.ndarray:
            key_factors = self.sample_factors(n, rng)
            key_factors[:, shared] = query_factors[:, shared]
            return self.observations_from_factors(key_factors, rng)

        group_keys = {
            g: key_sharing(content + self.group_factor_indices(g)) for g in self.style_groups
        }
        return Views(
            query=self.observations_from_factors(query_factors, rng),
            content_key=key_sharing(content),
            group_keys=group_keys,
            query_factors=query_factors,
        )

    @property
    def data_source(self) -> str:
        """Where the observations come from (a released file, a cache, in-process rendering).

        Recorded with every run and leaderboard row: scores on different sources of the
        same dataset are not interchangeable.
        """
        files = self.describe().get("files")
        if isinstance(files, dict) and files.get("in use"):
            return str(files["in use"])
        return "generated in-process"

    def describe(self) -> dict[str, Any]:
        """What ``disbench data info`` shows."""
        described = {
            "name": self.name,
            "observation_shape": list(self.observation_shape),
            "factors": [
                {"name": f.name, "group": f.group, "values": f.num_values or "continuous"}
                for f in self.factors
            ],
            "groups": self.groups,
        }
        pairs = self.factor_correlations
        if pairs:
            described["correlations"] = [
                {"factors": [self.factors[p.first].name, self.factors[p.second].name], "sigma": p.sigma} for p in pairs
            ]
            described["evaluation points"] = getattr(self.config, "eval_distribution", "independent")
        return described
