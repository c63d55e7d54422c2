"""Re-export of the metric registry, for symmetry with methods and datasets."""

from disbench.metrics.base import METRICS, register_metric

__all__ = ["METRICS", "register_metric"]
