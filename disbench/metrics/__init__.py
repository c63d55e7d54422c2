"""Metrics: importing this package registers every metric."""

from disbench.metrics.base import METRICS, MetricInput, MetricResult, Score, register_metric
from disbench.metrics import (  # noqa: F401  (each import registers its metric)
    beta_vae,
    dci,
    explicitness,
    factor_vae,
    irs,
    mig,
    modularity,
    r2,
    sap,
    unsupervised,
)

__all__ = ["METRICS", "MetricInput", "MetricResult", "Score", "register_metric"]
