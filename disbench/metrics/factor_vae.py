"""FactorVAE score (Kim & Mnih 2018), as in disentanglement_lib.

Code dimensions are scaled by their global variance (from
``num_variance_estimate`` points; dimensions with standard deviation below
``prune_threshold`` are dropped). Each vote holds one factor fixed over a batch
of ``batch_size`` points: the active dimension with the smallest scaled variance
votes for that factor. A majority-vote classifier (each dimension predicts the
factor it voted for most) is read off ``num_train`` votes and scored on
``num_eval`` fresh ones. Needs the encoder and discrete factors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from disbench.metrics.base import MetricResult, Score, register_encoder_metric
from disbench.metrics.encoder_batches import encode_space, fixed_factor_batches, require_discrete_factors


@dataclass
class FactorVAEOptions:
    """Attributes:
    batch_size: points per vote (dlib: 64).
    num_train: training votes (dlib: 10,000; at most --n-eval unless set).
    num_eval: evaluation votes (dlib: 5,000; at most --n-test unless set).
    num_variance_estimate: points for the global variances (dlib: 10,000; at most --n-eval unless set).
    prune_threshold: dimensions with a smaller global standard deviation are dropped (dlib study: 0.05).
    chunk_rows: observations encoded per call of the method.
    """

    batch_size: int = 64
    num_train: int = field(default=10_000, metadata={"budget": "n_eval"})
    num_eval: int = field(default=5_000, metadata={"budget": "n_test"})
    num_variance_estimate: int = field(default=10_000, metadata={"budget": "n_eval"})
    prune_threshold: float = 0.05
    chunk_rows: int = 8_192

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (a variance needs two points)")
        if min(self.num_train, self.num_eval, self.num_variance_estimate, self.chunk_rows) < 1:
            raise ValueError("num_train, num_eval, num_variance_estimate and chunk_rows must be at least 1")


def factor_vae_votes(encode, space, dataset, num_votes, options, global_variance, active, rng) -> np.ndarray:
    """Vote counts ``(F, d)``: rows are fixed factors, columns the argmin index among active dimensions."""
    fixed, factors = fixed_factor_batches(dataset, num_votes, options.batch_size, rng)
    codes = encode_space(encode, space, dataset, factors.reshape(-1, factors.shape[-1]), rng, options.chunk_rows)
    codes = codes.reshape(num_votes, options.batch_size, -1)
    local_variance = codes.var(axis=1, ddof=1)
    choice = np.argmin(local_variance[:, active] / global_variance[active], axis=1)
    votes = np.zeros((len(dataset.factors), len(global_variance)), dtype=np.int64)
    np.add.at(votes, (fixed, choice), 1)
    return votes


@register_encoder_metric(
    "factor-vae",
    reference="Kim & Mnih 2018, Disentangling by Factorising; dlib factor_vae.py",
    summary="FactorVAE score: majority-vote accuracy of the least-varying dimension under a fixed factor",
    options=FactorVAEOptions,
)
def compute_factor_vae(encode, space: str, dataset, options: FactorVAEOptions, rng: np.random.Generator) -> MetricResult:
    """FactorVAE score of one space.

    Args:
        encode: ``encode(observations, factors) -> Representation``.
        space: the scored space name.
        dataset: a dataset with discrete factors.
        options: :class:`FactorVAEOptions`.
        rng: draws every batch.

    Returns:
        ``factor-vae`` (eval accuracy, 0 when no dimension is active) and ``factor-vae.train``;
        details hold the number of active dimensions.

    Raises:
        UsageError: continuous factors.
    """
    require_discrete_factors(dataset, "the FactorVAE score")
    factors = dataset.sample_factors(options.num_variance_estimate, rng)
    codes = encode_space(encode, space, dataset, factors, rng, options.chunk_rows)
    global_variance = codes.var(axis=0, ddof=1)
    active = np.sqrt(global_variance) >= options.prune_threshold
    if not active.any():
        return MetricResult([Score("factor-vae", 0.0), Score("factor-vae.train", 0.0)], {"num_active_dims": 0})
    train_votes = factor_vae_votes(encode, space, dataset, options.num_train, options, global_variance, active, rng)
    classifier = np.argmax(train_votes, axis=0)
    columns = np.arange(train_votes.shape[1])
    eval_votes = factor_vae_votes(encode, space, dataset, options.num_eval, options, global_variance, active, rng)
    return MetricResult(
        [
            Score("factor-vae", float(eval_votes[classifier, columns].sum() / eval_votes.sum())),
            Score("factor-vae.train", float(train_votes[classifier, columns].sum() / train_votes.sum())),
        ],
        {"num_active_dims": int(active.sum())},
    )
