"""Shared checks for factor datasets: views against their definition (imported by the tests)."""

from __future__ import annotations

import numpy as np

from disbench.datasets.base import CONTENT, Dataset


def factors_as_observations(dataset: Dataset) -> Dataset:
    """A copy of ``dataset`` whose observations are its factor vectors, so keys show their factors."""

    class FactorEcho(type(dataset)):
        def observations_from_factors(self, factors, rng):
            return np.asarray(factors, dtype=np.float64)

    echo = object.__new__(FactorEcho)
    echo.__dict__.update(dataset.__dict__)
    return echo


def check_views_follow_groups(dataset: Dataset, n: int = 2000) -> None:
    """Key m shares content and group m with the query; every other factor is redrawn."""
    echo = factors_as_observations(dataset)
    views = echo.sample_views(n, np.random.default_rng(3))
    query = views.query
    np.testing.assert_array_equal(query, views.query_factors)
    content = dataset.group_factor_indices(CONTENT)
    keys = {CONTENT: views.content_key, **views.group_keys}
    assert set(views.group_keys) == set(dataset.style_groups)
    for group, key in keys.items():
        shared = set(content) | (set(dataset.group_factor_indices(group)) if group != CONTENT else set())
        for j, factor in enumerate(dataset.factors):
            same = np.mean(key[:, j] == query[:, j])
            if j in shared:
                assert same == 1.0, (group, factor.name)
            else:
                # redrawn uniformly: agrees only by chance, 1 / num_values of the time
                assert same < 1.0 / factor.num_values + 0.08, (group, factor.name, same)
