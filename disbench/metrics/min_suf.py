"""Minimality and sufficiency (Almudevar & Ortega 2024), as their ``src/metrics/min_suf.py`` computes them.

Both read one matrix of plug-in mutual information ``I(y_i; z_j)`` between each factor
``y_i`` and each code dimension ``z_j``, the codes binned per dimension into ``num_bins``
(15) equal-width bins between its min and max:

    minimality  = mean_j  max_i I(y_i; z_j) / H(z_j)   (each dimension holds one factor only)
    sufficiency = mean_i  max_j I(y_i; z_j) / H(y_i)   (each factor is held by one dimension)

Minimality is the score that differs from MIG's view: it does not penalise a factor
spread over several dimensions (sufficiency does, as MIG), only a dimension that mixes
factors, which is the property the authors argue survives dependent factors.

Bins follow the reference: edges ``np.linspace(min, max, num_bins + 1)`` with the last
edge raised by 1e-9, bin ``np.digitize(z, edges) - 1``. The reference's bits and our
nats give the same ratios. Two extensions: continuous factors are binned into ``num_bins`` bins by MIG's
histogram discretiser (the reference casts factors to integers), and dimensions of zero entropy (constant
codes, where the reference divides 0 by 0) are left out of minimality's mean and listed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disbench.metrics.base import MetricInput, MetricNotApplicable, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import compact_labels, discrete_factors, label_entropy, mutual_info_matrix, subsample


@dataclass
class MinSufOptions:
    """Attributes:
    num_bins: equal-width bins per code dimension, and per continuous factor (reference: 15).
    num_train: use at most this many points (seeded subset); ``None`` uses all.
    """

    num_bins: int = 15
    num_train: int | None = None

    def __post_init__(self) -> None:
        if self.num_bins < 2:
            raise ValueError("num_bins must be at least 2")


def uniform_bins(values: np.ndarray, num_bins: int) -> np.ndarray:
    """Each column of ``values`` in ``num_bins`` equal-width bins, as the reference's ``discretize_z``."""
    binned = np.empty(values.shape, dtype=np.int64)
    for column in range(values.shape[1]):
        x = values[:, column]
        edges = np.linspace(x.min(), x.max(), num_bins + 1)
        edges[-1] += 1e-9
        binned[:, column] = np.digitize(x, edges) - 1
    return binned


@dataclass
class InformationTable:
    mutual_info: np.ndarray  # (F, d) nats
    factor_entropy: np.ndarray  # (F,)
    code_entropy: np.ndarray  # (d,)
    factor_names: list[str]


def information_table(data: MetricInput, options: MinSufOptions, rng: np.random.Generator) -> InformationTable:
    """The mutual information of every (factor, dimension) pair and both sides' entropies."""
    data = check_metric_input(data)
    rows = subsample(len(data.codes), options.num_train, rng)
    codes, factors = data.codes[rows], data.factors[rows]
    code_labels, code_sizes = compact_labels(uniform_bins(codes, options.num_bins))
    factor_labels, factor_sizes = discrete_factors(factors, data.factor_info, options.num_bins)
    return InformationTable(
        mutual_info_matrix(code_labels, code_sizes, factor_labels, factor_sizes).T,
        label_entropy(factor_labels, factor_sizes),
        label_entropy(code_labels, code_sizes),
        data.factor_names,
    )


@register_codes_metric(
    "minimality",
    reference="Almudevar & Ortega 2024, Defining and Measuring Disentanglement for non-Independent Factors of Variation; dependent_disentanglement min_suf.py",
    summary="Minimality: how much of each code dimension's information is about one factor (mean over dimensions)",
    options=MinSufOptions,
)
def compute_minimality(data: MetricInput, options: MinSufOptions, rng: np.random.Generator) -> MetricResult:
    """Minimality of the codes (factor ``"all"``); details hold each dimension's ratio.

    Raises:
        UsageError: invalid codes or factors; MetricNotApplicable: every dimension is constant.
    """
    table = information_table(data, options, rng)
    informative = table.code_entropy > 0
    if not informative.any():
        raise MetricNotApplicable("minimality divides by each code dimension's entropy; every dimension is constant.")
    # MI can exceed the entropy it is bounded by in the last bits of a float: clipped to 1
    ratios = np.minimum(table.mutual_info.max(axis=0)[informative] / table.code_entropy[informative], 1.0)
    return MetricResult(
        [Score("minimality", float(ratios.mean()))],
        {
            "mutual_info": table.mutual_info.tolist(),
            "dimension_ratio": ratios.tolist(),
            "constant_dimensions": np.flatnonzero(~informative).tolist(),
            "factors": table.factor_names,
        },
    )


@register_codes_metric(
    "sufficiency",
    reference="Almudevar & Ortega 2024, Defining and Measuring Disentanglement for non-Independent Factors of Variation; dependent_disentanglement min_suf.py",
    summary="Sufficiency: how much of each factor's information one code dimension holds (mean over factors)",
    options=MinSufOptions,
)
def compute_sufficiency(data: MetricInput, options: MinSufOptions, rng: np.random.Generator) -> MetricResult:
    """Sufficiency for each factor and their mean (factor ``"all"``).

    Raises:
        UsageError: invalid codes or factors.
    """
    table = information_table(data, options, rng)
    ratios = np.minimum(table.mutual_info.max(axis=1) / table.factor_entropy, 1.0)
    scores = [Score("sufficiency", float(r), name) for r, name in zip(ratios, table.factor_names)]
    scores.append(Score("sufficiency", float(ratios.mean())))
    return MetricResult(scores, {"mutual_info": table.mutual_info.tolist(), "factors": table.factor_names})
