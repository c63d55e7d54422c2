"""Metrics: importing this package registers every metric."""

from disbench.metrics.base import METRICS, MetricInput, MetricResult, Score, register_metric
from disbench.metrics import dci, mig, sap  # noqa: F401

__all__ = ["METRICS", "MetricInput", "MetricResult", "Score", "register_metric"]
