"""Shapes3D (Burgess & Kim 2018): the released ``3dshapes.h5``, read lazily.

The file holds ``images`` (480,000 x 64 x 64 x 3 uint8) and ``labels``
(480,000 x 6 floats) for the full grid floor hue 10 x wall hue 10 x object hue
10 x scale 8 x shape 4 x orientation 15, in row-major order (orientation
fastest). A batch reads the distinct rows it needs, in file order; the images
are never loaded whole. There is no rendered default: without the file,
the dataset says where to get it and where to put it.

Groups: content = shape; style ``colour`` = the three hues; style ``geometry`` =
scale and orientation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from disbench.datasets import locations
from disbench.datasets.base import CONTENT, DatasetConfig, Factor
from disbench.datasets.grid import FactorGridDataset
from disbench.datasets.registry import DATASETS
from disbench.errors import DisbenchError

FILE_NAME = "3dshapes.h5"
URL = "https://storage.googleapis.com/3d-shapes/3dshapes.h5"
FACTORS = (
    ("floor_hue", "colour"),
    ("wall_hue", "colour"),
    ("object_hue", "colour"),
    ("scale", "geometry"),
    ("shape", CONTENT),
    ("orientation", "geometry"),
)


@dataclass
class Shapes3DConfig(DatasetConfig):
    """Attributes:
    data_dir: folder holding ``3dshapes.h5`` (default ``$DISBENCH_DATA``).
    """

    data_dir: str | None = None


def _bad_file(path: Path, problem: str) -> DisbenchError:
    return DisbenchError(f"Shapes3D file {str(path)!r} {problem}; replace it with the released {FILE_NAME} ({URL}).")


@DATASETS.register("shapes3d")
class Shapes3D(FactorGridDataset):
    """64x64 RGB renders of a shape in a room: hues, scale, shape, orientation (Burgess & Kim 2018)."""

    Config = Shapes3DConfig
    summary = "Shapes3D 64x64 RGB, 480,000 images from the released 3dshapes.h5 (no default)"

    def __init__(self, config: Shapes3DConfig | None = None) -> None:
        super().__init__(config)
        self.path = locations.require_file(FILE_NAME, self.config.data_dir, "Shapes3D file",
                                           f"download it from {URL} and put it there")
        sizes = self._check_file(self.path)
        self.factors = [Factor(name, group, size) for (name, group), size in zip(FACTORS, sizes)]
        self.style_groups = ["colour", "geometry"]
        self.observation_shape = (3, 64, 64)
        self._handle = None

    def _check_file(self, path: Path) -> tuple[int, ...]:
        """Validate keys, shapes, dtypes and row order; return the factor sizes (from ``labels``)."""
        import h5py

        try:
            with h5py.File(path, "r") as handle:
                for key in ("images", "labels"):
                    if key not in handle:
                        raise _bad_file(path, f"has no {key!r} dataset (keys: {', '.join(handle.keys())})")
                images, labels = handle["images"], handle["labels"]
                if images.ndim != 4 or images.shape[1:] != (64, 64, 3) or images.dtype != np.uint8:
                    raise _bad_file(path, f"has images of shape {images.shape} and dtype {images.dtype}, "
                                          "expected (N, 64, 64, 3) uint8")
                if labels.shape != (images.shape[0], 6) or labels.dtype.kind != "f":
                    raise _bad_file(path, f"has labels of shape {labels.shape} and dtype {labels.dtype}, "
                                          f"expected ({images.shape[0]}, 6) floats")
                values = labels[...]
        except DisbenchError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise _bad_file(path, f"cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
        columns = [np.unique(values[:, j], return_inverse=True) for j in range(6)]
        sizes = tuple(len(unique) for unique, _ in columns)
        indices = np.stack([inverse.reshape(-1) for _, inverse in columns], axis=1)
        if np.prod(sizes) != len(values) or not np.array_equal(
            np.ravel_multi_index(tuple(indices.T), sizes), np.arange(len(values))
        ):
            raise _bad_file(path, "is not the full factor grid in the released order (orientation fastest)")
        self.factor_values = [unique for unique, _ in columns]
        return sizes

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Float32 images ``(n, 3, 64, 64)`` in [0, 1]: one sorted read of the distinct rows."""
        import h5py

        rows = self.flat_index(factors)
        unique, inverse = np.unique(rows, return_inverse=True)
        try:
            if self._handle is None:
                self._handle = h5py.File(self.path, "r")
            images = self._handle["images"]
            # one read per distinct row, in file order: h5py's fancy selection (images[unique])
            # builds a hyperslab union that measured 86x slower on per-image gzip chunks and
            # 4x slower on a contiguous dataset than these plain row reads (benchmarks/data.py)
            block = np.empty((len(unique), *images.shape[1:]), dtype=np.uint8)
            for position, row in enumerate(unique):
                images.read_direct(block, source_sel=np.s_[row], dest_sel=np.s_[position])
        except (OSError, KeyError, ValueError) as exc:
            raise _bad_file(self.path, f"cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
        images = block[inverse.reshape(-1)]
        return images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0

    def __getstate__(self) -> dict[str, Any]:
        # an open HDF5 handle cannot cross process boundaries (DataLoader workers); reopen there
        return {**self.__dict__, "_handle": None}

    @classmethod
    def locate_files(cls, config: Shapes3DConfig) -> dict[str, Any]:
        """Where ``3dshapes.h5`` is looked for and whether it was found (for ``data info``)."""
        return {"in use": None, FILE_NAME: locations.file_status(FILE_NAME, config.data_dir)}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "files": {**self.locate_files(self.config), "in use": str(self.path)}}
