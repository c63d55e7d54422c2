"""BetaVAE score (Higgins et al. 2017), as in disentanglement_lib.

Each training point holds one factor fixed: two batches of ``batch_size``
factor vectors share that factor row by row, and the point's feature is the mean
absolute difference of their codes. A ``LogisticRegression`` learns which factor
was fixed; the score is its accuracy on ``num_eval`` fresh points. Needs the
encoder (it renders its own batches) and discrete factors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from disbench.metrics.base import MetricResult, Score, register_encoder_metric
from disbench.metrics.encoder_batches import encode_space, fixed_factor_batches, require_discrete_factors


@dataclass
class BetaVAEOptions:
    """Attributes:
    batch_size: pairs averaged into one point (dlib: 64).
    num_train: training points (dlib: 10,000; at most --n-eval unless set).
    num_eval: evaluation points (dlib: 5,000; at most --n-test unless set).
    chunk_rows: observations encoded per call of the method.
    """

    batch_size: int = 64
    num_train: int = field(default=10_000, metadata={"budget": "n_eval"})
    num_eval: int = field(default=5_000, metadata={"budget": "n_test"})
    chunk_rows: int = 8_192

    def __post_init__(self) -> None:
        if min(self.batch_size, self.num_train, self.num_eval, self.chunk_rows) < 1:
            raise ValueError("batch_size, num_train, num_eval and chunk_rows must be at least 1")


def beta_vae_points(encode, space, dataset, num_points, options: BetaVAEOptions, rng) -> tuple[np.ndarray, np.ndarray]:
    """``(features (num_points, d), labels (num_points,))``: mean |z1 - z2| and the fixed factor."""
    fixed, factors = fixed_factor_batches(dataset, num_points, options.batch_size, rng, pair=True)
    codes = encode_space(encode, space, dataset, factors.reshape(-1, factors.shape[-1]), rng, options.chunk_rows)
    codes = codes.reshape(num_points, 2, options.batch_size, -1)
    return np.abs(codes[:, 0] - codes[:, 1]).mean(axis=1), fixed


@register_encoder_metric(
    "beta-vae",
    reference="Higgins et al. 2017, beta-VAE; dlib beta_vae.py",
    summary="BetaVAE score: accuracy of predicting the fixed factor from mean |code differences|",
    options=BetaVAEOptions,
)
def compute_beta_vae(encode, space: str, dataset, options: BetaVAEOptions, rng: np.random.Generator) -> MetricResult:
    """BetaVAE score of one space.

    Args:
        encode: ``encode(observations, factors) -> Representation``.
        space: the scored space name.
        dataset: a dataset with discrete factors.
        options: :class:`BetaVAEOptions`.
        rng: draws every batch; also seeds the logistic regression.

    Returns:
        ``beta-vae`` (eval accuracy) and ``beta-vae.train``.

    Raises:
        UsageError: continuous factors.
    """
    from sklearn.linear_model import LogisticRegression

    require_discrete_factors(dataset, "the BetaVAE score")
    train_x, train_y = beta_vae_points(encode, space, dataset, options.num_train, options, rng)
    model = LogisticRegression(random_state=int(rng.integers(2**31 - 1))).fit(train_x, train_y)
    eval_x, eval_y = beta_vae_points(encode, space, dataset, options.num_eval, options, rng)
    return MetricResult(
        [
            Score("beta-vae", float(model.score(eval_x, eval_y))),
            Score("beta-vae.train", float(model.score(train_x, train_y))),
        ]
    )
