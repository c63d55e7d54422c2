"""Datasets: importing this package registers every dataset family."""

from disbench.datasets.base import CONTENT, Dataset, DatasetConfig, Factor, Views
from disbench.datasets.registry import DATASETS
from disbench.datasets import synthetic  # noqa: F401  (registers "synthetic")
from disbench.datasets import product_manifold  # noqa: F401  (registers "product-manifold")

__all__ = ["CONTENT", "DATASETS", "Dataset", "DatasetConfig", "Factor", "Views"]
from disbench.datasets import dsprites  # noqa: F401  (registers "dsprites", "color-dsprites", "color-dsprites-tint", "noisy-dsprites", "scream-dsprites")
from disbench.datasets import shapes3d  # noqa: F401  (registers "shapes3d")
from disbench.datasets import smallnorb  # noqa: F401  (registers "smallnorb")
from disbench.datasets import cars3d  # noqa: F401  (registers "cars3d")
from disbench.datasets import mpi3d  # noqa: F401  (registers "mpi3d-toy", "mpi3d-realistic", "mpi3d-real")
from disbench.datasets import imagefolder  # noqa: F401  (registers "imagefolder", "imagenet")
