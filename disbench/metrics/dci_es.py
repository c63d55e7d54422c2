"""DCI-ES explicitness and size (Eastwood et al. 2023), on random-forest probes of growing depth.

Explicitness asks how *easily* the factors can be read from the codes: for each factor
a family of probes of growing capacity is fitted, and the loss-capacity curve (test
loss against capacity) is summarised by the area above its best loss, as the
authors' ``metrics/explitcitness.py`` (andreinicolicioiu/DCI-ES) computes it:

    y_m  = min over m' <= m of the test loss of probe m'   (the best loss up to capacity x_m)
    E    = 1 - 2 * sum_m (x_{m+1} - x_m) * ((y_m + y_{m+1}) / 2 - min y) / ((x_max - x_min) * l_b)

with ``l_b`` the loss of a baseline that ignores the codes: ``1 - 1/K`` (the error of
guessing among a discrete factor's K values; the reference's per-dataset constants) and
1 for a continuous factor (``1 - R^2`` of the mean). E is 1 when the smallest probe
already reaches the best loss; it is averaged over factors.

The probe family is the reference's random-forest configuration
(``configs/random_forest``): ``RandomForestClassifier`` (accuracy; discrete factors) or
``RandomForestRegressor`` (R^2; continuous factors) with 100 trees, capacity = maximum
depth 1, 2, 3, 4, 8, 10, 12, 14, 16, 18, 20, 32, fitted on the train split and scored on
the test split. Twelve forests per factor are this metric's cost; the budget options
(``max_depths``, ``n_estimators``, ``num_train``) trade it for a coarser curve.

Size is ``S = K / L``, the number of factors over the number of code dimensions (1 for a
representation as small as the ground truth, lower for larger ones), from the paper's
definition: the reference repository has no code for it.

Differences: the reference regresses every factor its dataset loader marks continuous
(for dSprites: all but shape); here a factor's kind decides (dSprites' factors are
discrete indices, so all are classified). The reference seeds each forest with
``seed * run_id``; here one seed is drawn from the evaluation seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from disbench.metrics.base import MetricInput, MetricResult, Score, check_metric_input, register_codes_metric
from disbench.metrics.discretize import subsample

#: the reference's random-forest capacities (``configs/random_forest/config.yaml``)
REFERENCE_DEPTHS = (1, 2, 3, 4, 8, 10, 12, 14, 16, 18, 20, 32)


@dataclass
class DCIESOptions:
    """Attributes:
    max_depths: the probes' capacities, increasing (reference: 1, 2, 3, 4, 8, ..., 20, 32).
    n_estimators: trees per forest (reference: 100).
    num_train: train points at most (follows ``--n-eval``).
    num_test: test points at most (follows ``--n-test``).
    """

    max_depths: tuple[int, ...] = REFERENCE_DEPTHS
    n_estimators: int = 100
    num_train: int = field(default=10_000, metadata={"budget": "n_eval"})
    num_test: int = field(default=5_000, metadata={"budget": "n_test"})

    def __post_init__(self) -> None:
        depths = list(self.max_depths)
        if len(depths) < 2 or any(d < 1 for d in depths) or depths != sorted(set(depths)):
            raise ValueError("max_depths must hold at least two increasing depths of 1 or more")
        if self.n_estimators < 1:
            raise ValueError("n_estimators must be at least 1")


def best_so_far(losses: np.ndarray) -> np.ndarray:
    """The lowest loss reached at or below each capacity (the reference's ``add_curve``)."""
    return np.minimum.accumulate(np.asarray(losses, dtype=np.float64))


def explicitness_of_curve(capacities: np.ndarray, losses: np.ndarray, baseline_loss: float) -> float:
    """E of one loss-capacity curve (losses already best-so-far), the reference's ``compute_explitcitness``."""
    x = np.asarray(capacities, dtype=np.float64)
    y = np.asarray(losses, dtype=np.float64)
    heights = 0.5 * (y[:-1] - y.min()) + 0.5 * (y[1:] - y.min())
    area = float(np.sum(heights * np.diff(x)))
    return 1.0 - 2.0 * area / ((x.max() - x.min()) * baseline_loss)


def probe_losses(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    discrete: bool,
    options: DCIESOptions,
    seed: int,
) -> np.ndarray:
    """Test loss of a forest of each depth: ``1 - accuracy`` (discrete) or ``1 - R^2`` (continuous)."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    forest = RandomForestClassifier if discrete else RandomForestRegressor
    losses = []
    for depth in options.max_depths:
        model = forest(n_estimators=options.n_estimators, max_depth=depth, random_state=seed)
        model.fit(*train)
        losses.append(1.0 - model.score(*test))
    return np.array(losses)


@register_codes_metric(
    "dci-es",
    value_range=(-1.0, 1.0),
    reference="Eastwood et al. 2023, DCI-ES: An Extended Disentanglement Framework with Connections to Identifiability; DCI-ES explitcitness.py",
    summary="DCI-ES explicitness (area above the loss-capacity curve of random forests of growing depth) and size K/L",
    options=DCIESOptions,
)
def compute_dci_es(data: MetricInput, options: DCIESOptions, rng: np.random.Generator) -> MetricResult:
    """``dci-es.explicitness`` per factor and their mean, and ``dci-es.size``.

    Raises:
        UsageError: invalid codes or factors.
    """
    data = check_metric_input(data)
    train_codes, train_factors, test_codes, test_factors = data.train_test(rng)
    train_rows = subsample(len(train_codes), options.num_train, rng)
    test_rows = subsample(len(test_codes), options.num_test, rng)
    train_codes, train_factors = train_codes[train_rows], train_factors[train_rows]
    test_codes, test_factors = test_codes[test_rows], test_factors[test_rows]
    seed = int(rng.integers(2**31 - 1))
    curves, values = [], []
    for column, factor in enumerate(data.factor_info):
        discrete = not factor.continuous
        losses = probe_losses(
            (train_codes, train_factors[:, column]), (test_codes, test_factors[:, column]), discrete, options, seed
        )
        baseline = 1.0 - 1.0 / (factor.num_values or len(np.unique(train_factors[:, column]))) if discrete else 1.0
        curve = best_so_far(losses)
        values.append(explicitness_of_curve(np.array(options.max_depths), curve, baseline))
        curves.append(losses.tolist())
    scores = [Score("dci-es.explicitness", float(v), name) for v, name in zip(values, data.factor_names)]
    scores.append(Score("dci-es.explicitness", float(np.mean(values))))
    scores.append(Score("dci-es.size", len(data.factor_info) / data.codes.shape[1]))
    return MetricResult(
        scores,
        {"capacities": list(options.max_depths), "test_losses": curves, "factors": data.factor_names},
    )
