"""Dependent factors: pairs of factors drawn with a given correlation (Roth et al. 2023).

Roth et al. (facebookresearch/disentangling-correlated-factors, ``datasets/utils.py``
``provide_correlation_sampler``, pairs listed in ``constraints/avail_correlations.yaml``)
train on a dataset whose examples are drawn with weights

    w(c) = prod over correlated pairs (i, j) of exp(-(c_i - c_j)^2 / (2 sigma^2))

(Träuble et al. 2021's distribution), each factor normalised to [0, 1], so that ``c_i``
and ``c_j`` tend to be close: small ``sigma`` is a strong correlation (their settings:
0.1, 0.4, 0.04). Here a factor is normalised by its index, ``index / (K - 1)`` (the same
as their values for evenly spaced factor values), and the weighted draw is made by
rejection: candidates from the dataset's own factor distribution are kept with
probability ``w(c) <= 1``, which draws exactly ``p(c) w(c) / Z`` as their
``WeightedRandomSampler`` does over a dataset's examples, for any dataset whose factors
are discrete. A factor takes part in one pair at most (as in every setting they list
but one).

The option is ``correlations: "shape~scale=0.1,x~y=0.1"`` on every dataset
(``--set dataset.correlations=...``); ``eval_distribution`` says whether evaluation
points come from the independent grid (default, as Roth et al. evaluate) or from the
correlated distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from disbench.datasets.factors import Factor
from disbench.errors import UsageError

#: candidates drawn per wanted point in one round of rejection (more rounds follow if needed)
_OVERSAMPLE = 4
#: rounds of rejection before giving up (a sigma this small leaves almost no candidate)
_MAX_ROUNDS = 10_000


@dataclass(frozen=True)
class FactorCorrelation:
    """Two factors (column indices) drawn with correlation strength ``sigma``."""

    first: int
    second: int
    sigma: float


def parse_correlations(spec: str, factors: list[Factor], dataset: str) -> list[FactorCorrelation]:
    """``"a~b=0.1,c~d=0.4"`` as :class:`FactorCorrelation` pairs of ``factors`` (``""`` or ``"none"``: no pair).

    Raises:
        UsageError: a malformed entry, an unknown or continuous factor, a factor paired with
            itself or in two pairs, or a sigma that is not a positive number.
    """
    if spec.strip().lower() in ("", "none"):
        return []
    names = [f.name for f in factors]
    example = f"{names[0]}~{names[1]}=0.1" if len(names) > 1 else "A~B=0.1"
    pairs: list[FactorCorrelation] = []
    used: set[int] = set()
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        pair, equals, sigma_text = entry.partition("=")
        first, tilde, second = pair.partition("~")
        if not equals or not tilde:
            raise UsageError(f"dataset {dataset!r}: correlation {entry!r} is not of the form FACTOR~FACTOR=SIGMA (e.g. {example}).")
        try:
            sigma = float(sigma_text)
        except ValueError:
            sigma = float("nan")
        if not np.isfinite(sigma) or sigma <= 0:
            raise UsageError(f"dataset {dataset!r}: correlation {entry!r} needs a positive SIGMA (0.1 is strong, 0.4 weak).")
        columns = []
        for name in (first.strip(), second.strip()):
            if name not in names:
                raise UsageError(f"dataset {dataset!r} has no factor {name!r} (in correlation {entry!r}); its factors: {', '.join(names)}.")
            column = names.index(name)
            if factors[column].continuous:
                raise UsageError(f"dataset {dataset!r}: factor {name!r} is continuous; correlations pair discrete factors.")
            columns.append(column)
        if columns[0] == columns[1]:
            raise UsageError(f"dataset {dataset!r}: correlation {entry!r} pairs a factor with itself.")
        if used & set(columns):
            raise UsageError(f"dataset {dataset!r}: a factor of {entry!r} is already in another correlated pair; each factor may be in one pair.")
        used.update(columns)
        pairs.append(FactorCorrelation(columns[0], columns[1], sigma))
    return pairs


def correlation_weights(factors: np.ndarray, pairs: list[FactorCorrelation], sizes: list[int]) -> np.ndarray:
    """``w(c)`` of each factor vector (rows of ``factors``, discrete indices), in ``(0, 1]``."""
    weights = np.ones(len(factors))
    for pair in pairs:
        first = factors[:, pair.first] / max(sizes[pair.first] - 1, 1)
        second = factors[:, pair.second] / max(sizes[pair.second] - 1, 1)
        weights *= np.exp(-((first - second) ** 2) / (2 * pair.sigma**2))
    return weights


def sample_correlated(
    draw: Callable[[int, np.random.Generator], np.ndarray],
    n: int,
    pairs: list[FactorCorrelation],
    sizes: list[int],
    rng: np.random.Generator,
) -> np.ndarray:
    """``n`` factor vectors from ``draw``'s distribution reweighted by :func:`correlation_weights`.

    Args:
        draw: the dataset's independent sampler, ``draw(m, rng) -> (m, F)``.
        n: factor vectors wanted.
        pairs: the correlated pairs; none returns ``draw(n, rng)``.
        sizes: number of values of each factor.
    """
    if not pairs:
        return draw(n, rng)
    kept: list[np.ndarray] = []
    count = 0
    for _ in range(_MAX_ROUNDS):
        candidates = draw(max(n, 16) * _OVERSAMPLE, rng)
        accept = rng.random(len(candidates)) < correlation_weights(candidates, pairs, sizes)
        kept.append(candidates[accept])
        count += int(accept.sum())
        if count >= n:
            return np.concatenate(kept)[:n]
    raise UsageError("the factor correlations leave almost no factor vector to draw; use a larger sigma.")
