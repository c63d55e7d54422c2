"""Shared pieces of the dependency-aware gap metrics DMIG, XMIG and DLIG (Watcharasupat & Lerch 2021).

The three metrics of the latte library (``latte.functional.disentanglement.mutual_info``)
compare mutual information between code dimensions and factors ("attributes") as MIG
does, but each factor ``a_i`` has a code dimension ``z_{r_i}`` meant to carry it, and
gaps are normalised by the *conditional* entropy ``H(a_i | a_l)`` of the factor given
the factor ``a_l`` that the runner-up dimension carries: when two factors depend on
each other, a dimension that carries ``a_l`` necessarily carries some of ``a_i`` too,
and MIG's denominator ``H(a_i)`` asks for a gap that dependent data cannot give.

latte's defaults, kept here:

- mutual information by scikit-learn's k-nearest-neighbour estimators,
  ``mutual_info_classif`` for a discrete factor and ``mutual_info_regression`` for a
  continuous one (3 neighbours, ``random_state`` 42), all codes at once against one
  factor (latte's DLIG calls one dimension at a time, which draws scikit-learn's 1e-10
  tie-breaking noise differently; the tests measure the same DLIG to 1e-9);
- entropies as latte estimates them: the kNN mutual information of a factor with itself,
  ``H(a_i | a_j) = H(a_i) - I(a_i; a_j)``;
- ``r_i = i`` (factor ``i`` is carried by code dimension ``i``, latte's ``reg_dim``
  default, meant for attribute-regularised models).

Options beyond latte (each recorded with the scores): ``assignment="matched"`` assigns
each factor its own dimension by a maximum-weight matching of the mutual information
matrix (Hungarian algorithm), which unsupervised models need since their dimensions
have no prescribed order; ``estimator="histogram"`` uses MIG's 20-bin plug-in
estimator (:mod:`disbench.metrics.discretize`) so that a DMIG and a MIG differ only in
their normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from disbench.metrics.base import MetricInput, MetricNotApplicable, check_metric_input
from disbench.metrics.discretize import (
    compact_labels,
    discrete_factors,
    histogram_discretize,
    label_entropy,
    mutual_info_matrix,
    subsample,
)

#: latte's ``RANDOM_STATE``, the seed of scikit-learn's tie-breaking noise
LATTE_RANDOM_STATE = 42


@dataclass
class DependencyGapOptions:
    """Attributes:
    estimator: ``"knn"`` (latte: scikit-learn's k-nearest-neighbour mutual information) or
        ``"histogram"`` (MIG's plug-in estimator on ``num_bins`` equal-width bins).
    assignment: ``"index"`` (latte: factor ``i`` is carried by code dimension ``i``) or
        ``"matched"`` (each factor gets its own dimension by maximum-weight matching of the
        mutual information; for models whose dimensions have no prescribed order).
    n_neighbors: neighbours of the kNN estimator (scikit-learn's default 3, as latte).
    random_state: seed of scikit-learn's tie-breaking noise (latte's 42).
    num_bins: equal-width bins per code dimension (``estimator="histogram"``).
    continuous_factor_bins: bins for continuous factors (``estimator="histogram"``).
    num_train: use at most this many points (seeded subset); ``None`` uses all.
    """

    estimator: Literal["knn", "histogram"] = "knn"
    assignment: Literal["index", "matched"] = "index"
    n_neighbors: int = 3
    random_state: int = LATTE_RANDOM_STATE
    num_bins: int = 20
    continuous_factor_bins: int = 20
    num_train: int | None = None

    def __post_init__(self) -> None:
        if self.n_neighbors < 1:
            raise ValueError("n_neighbors must be at least 1")
        if self.num_bins < 2 or self.continuous_factor_bins < 2:
            raise ValueError("num_bins and continuous_factor_bins must be at least 2")


class DependencyInformation:
    """Mutual information and (conditional) entropies of one set of codes and factors.

    Attributes:
        codes, factors: the scored points; discrete: per factor, whether it is discrete.
        mutual_info: ``(d, F)`` ``I(z_d; a_i)`` (nats), each factor against all codes at once.
        entropy: ``(F,)`` ``H(a_i)``.
    """

    def __init__(self, data: MetricInput, options: DependencyGapOptions, rng: np.random.Generator) -> None:
        data = check_metric_input(data)
        rows = subsample(len(data.codes), options.num_train, rng)
        self.options = options
        self.codes = data.codes[rows]
        self.factors = data.factors[rows]
        self.discrete = [not f.continuous for f in data.factor_info]
        self.factor_names = data.factor_names
        if options.estimator == "histogram":
            self._binned_codes = compact_labels(histogram_discretize(self.codes, options.num_bins))
            self._factor_labels = discrete_factors(self.factors, data.factor_info, options.continuous_factor_bins)
            self.mutual_info = mutual_info_matrix(*self._binned_codes, *self._factor_labels)
            self.entropy = label_entropy(*self._factor_labels)
        else:
            self.mutual_info = np.stack(
                [self._knn(self.codes, f) for f in range(self.factors.shape[1])], axis=1
            )
            self.entropy = np.array([self._knn(self.factors[:, [f]], f)[0] for f in range(self.factors.shape[1])])

    def _knn(self, features: np.ndarray, factor: int) -> np.ndarray:
        """scikit-learn's kNN mutual information of each column of ``features`` with factor ``factor``."""
        from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

        estimate = mutual_info_classif if self.discrete[factor] else mutual_info_regression
        return estimate(
            features.astype(np.float64), self.factors[:, factor],
            n_neighbors=self.options.n_neighbors, random_state=self.options.random_state,
        )  # fmt: skip

    def factor_mutual_info(self, i: int, j: int) -> float:
        """``I(a_j; a_i)``: factor ``j`` as the feature, factor ``i`` as the target (latte's order)."""
        if self.options.estimator == "histogram":
            labels, sizes = self._factor_labels
            return float(mutual_info_matrix(labels[:, [j]], sizes[[j]], labels[:, [i]], sizes[[i]])[0, 0])
        return float(self._knn(self.factors[:, [j]], i)[0])

    def conditional_entropy(self, i: int, j: int) -> float:
        """``H(a_i | a_j) = H(a_i) - I(a_i; a_j)``, as latte estimates it."""
        return float(self.entropy[i] - self.factor_mutual_info(i, j))

    def assigned_dimensions(self) -> list[int]:
        """The code dimension that carries each factor (``r_i``): latte's ``i``, or a maximum-weight matching."""
        num_dims, num_factors = self.mutual_info.shape
        if num_dims < num_factors:
            raise MetricNotApplicable(
                f"the dependency-aware gaps give each of the {num_factors} factors its own code dimension; "
                f"the codes have {num_dims}."
            )
        if self.options.assignment == "index":
            return list(range(num_factors))
        from scipy.optimize import linear_sum_assignment

        dims, factors = linear_sum_assignment(self.mutual_info, maximize=True)
        assigned = [0] * num_factors
        for dim, factor in zip(dims, factors):
            assigned[factor] = int(dim)
        return assigned


def gap_to_best_other(scores: np.ndarray, own: int) -> tuple[float, int]:
    """``(scores[own] - best other score, index of the best other)``, latte's ``_top2gap`` with a given index.

    When ``own`` scores highest the gap is to the runner-up; otherwise it is negative, to the best.
    """
    order = np.argsort(scores)
    if order[-1] == own:
        return float(scores[own] - scores[order[-2]]), int(order[-2])
    return float(scores[own] - scores[order[-1]]), int(order[-1])
