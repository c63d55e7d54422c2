"""Metrics: importing this package registers every metric."""

from disbench.metrics.base import METRICS, MetricInput, MetricResult, Score, register_metric
from disbench.metrics import dci, explicitness, irs, mig, modularity, sap, unsupervised  # noqa: F401

__all__ = ["METRICS", "MetricInput", "MetricResult", "Score", "register_metric"]
