"""The dataset registry (kept apart from the family modules to avoid import cycles)."""

from disbench.registry import Registry

DATASETS: Registry = Registry("dataset")
