"""Datasets: importing this package registers every dataset family."""

from disbench.datasets.base import CONTENT, Dataset, DatasetConfig, Factor, Views
from disbench.datasets.registry import DATASETS
from disbench.datasets import synthetic  # noqa: F401  (registers "synthetic")
from disbench.datasets import product_manifold  # noqa: F401  (registers "product-manifold")

__all__ = ["CONTENT", "DATASETS", "Dataset", "DatasetConfig", "Factor", "Views"]
from disbench.datasets import dsprites  # noqa: F401  (registers "dsprites", "color-dsprites", "color-dsprites-tint")
from disbench.datasets import shapes3d  # noqa: F401  (registers "shapes3d")
from disbench.datasets import imagefolder  # noqa: F401  (registers "imagefolder", "imagenet")
