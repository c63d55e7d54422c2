"""Cars3D (Reed et al. 2015) as disentanglement_lib reads it: 183 car models, 4 elevations x 24 azimuths.

The release (``nips2015-analogy-data.tar.gz``, folder ``data/cars``) holds one MATLAB
file per car model, ``car_NNN_mesh.mat``, whose ``im`` is a 128 x 128 x 3 x 24 x 4
uint8 array (height, width, colour, azimuth, elevation). Files are read with
``scipy.io.loadmat`` (MATLAB's format: nothing is unpickled), each image is resized to
64 x 64 with Pillow's Lanczos filter as dlib's ``thumbnail`` does for a square
image, and held in memory (216 MB of uint8).

Factors in dlib's order: elevation 4, azimuth 24, object type 183. dlib numbers the
objects in the order its file system lists the folder, which is unspecified; disbench
numbers them in sorted file-name order, so object labels are a fixed permutation of
dlib's (no metric of the study depends on how a factor's values are numbered).

Groups: content = object type; ``elevation`` and ``azimuth`` are one style group each,
so that every key differs from its query.
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
from disbench.errors import DisbenchError, UsageError

FOLDER = "cars"
URL = "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz"
FACTORS = (("elevation", "elevation"), ("azimuth", "azimuth"), ("object_type", CONTENT))
RELEASED_SHAPE = (128, 128, 3, 24, 4)
RELEASED_MODELS = 183
SIZE = 64


@dataclass
class Cars3DConfig(DatasetConfig):
    """Attributes:
    data_dir: folder holding the ``cars`` folder of the release (default ``$DISBENCH_DATA``).
    """

    data_dir: str | None = None


def _bad_file(path: Path, problem: str) -> DisbenchError:
    return DisbenchError(
        f"Cars3D file {str(path)!r} {problem}; replace it with the released one "
        f"(data/cars/{path.name} in {URL}, whose 'im' is {RELEASED_SHAPE} uint8)."
    )


def read_mesh(path: Path) -> np.ndarray:
    """The ``im`` array of one ``car_*_mesh.mat``: ``(H, W, 3, azimuths, elevations)`` uint8, H == W >= 64."""
    import scipy.io

    try:
        images = scipy.io.loadmat(path, variable_names=["im"]).get("im")
    except Exception as exc:  # scipy raises many kinds (MatReadError, ValueError, TypeError, OSError) on bad files
        detail = str(exc).splitlines()[0] if str(exc) else "truncated"
        raise _bad_file(path, f"cannot be read as a MATLAB file ({type(exc).__name__}: {detail})") from None
    if images is None:
        raise _bad_file(path, "has no 'im' array")
    if images.ndim != 5 or images.shape[2] != 3 or images.dtype != np.uint8:
        raise _bad_file(path, f"has 'im' of shape {images.shape} and dtype {images.dtype}, expected {RELEASED_SHAPE} uint8")
    if images.shape[0] != images.shape[1] or images.shape[0] < SIZE:
        raise _bad_file(path, f"has {images.shape[0]} x {images.shape[1]} images, expected square ones of at least {SIZE} px")
    return images


def resize_lanczos_rgb(images: np.ndarray, size: int = SIZE) -> np.ndarray:
    """``(n, H, W, 3)`` uint8 square images resized to ``(n, size, size, 3)`` uint8 (Pillow's Lanczos)."""
    from PIL import Image

    resized = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        resized[i] = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((size, size), Image.Resampling.LANCZOS))
    return resized


@DATASETS.register("cars3d")
class Cars3D(FactorGridDataset):
    """64x64 RGB renders of car models from 4 elevations and 24 azimuths (Reed et al. 2015)."""

    Config = Cars3DConfig
    summary = "Cars3D 64x64 RGB, 17,568 images from the released car_*_mesh.mat files (no default)"

    def __init__(self, config: Cars3DConfig | None = None) -> None:
        super().__init__(config)
        folder = self.folder(self.config)
        self.files = sorted(p for p in folder.iterdir() if p.suffix == ".mat" and p.is_file())
        if not self.files:
            raise UsageError(f"Cars3D folder {str(folder)!r} holds no .mat files; put the release's "
                             f"data/cars/car_*_mesh.mat files ({URL}) there.")
        first = read_mesh(self.files[0])
        azimuths, elevations = first.shape[3:]
        # rows in factor order (elevation, azimuth, object); one file in memory at a time
        images = np.empty((elevations, azimuths, len(self.files), SIZE, SIZE, 3), dtype=np.uint8)
        for number, path in enumerate(self.files):
            mesh = first if number == 0 else read_mesh(path)
            if mesh.shape != first.shape:
                raise _bad_file(path, f"has 'im' of shape {mesh.shape} where {self.files[0].name} has {first.shape}")
            views = mesh.transpose(4, 3, 0, 1, 2).reshape(-1, *mesh.shape[:3])  # (elevation, azimuth) row-major
            images[:, :, number] = resize_lanczos_rgb(views).reshape(elevations, azimuths, SIZE, SIZE, 3)
        self.images = images.reshape(-1, SIZE, SIZE, 3)
        sizes = (elevations, azimuths, len(self.files))
        self.factors = [Factor(name, group, size) for (name, group), size in zip(FACTORS, sizes)]
        self.style_groups = ["elevation", "azimuth"]
        self.observation_shape = (3, SIZE, SIZE)

    @staticmethod
    def folder(config: Cars3DConfig) -> Path:
        """The ``cars`` folder, or a UsageError saying where it was looked for."""
        return locations.require_file(
            FOLDER, config.data_dir, "Cars3D folder",
            f"extract data/cars from {URL} ({RELEASED_MODELS} car_*_mesh.mat files) and put the cars folder there",
            folder=True,
        )

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Float32 images ``(n, 3, 64, 64)`` in [0, 1] (uint8 / 255, as dlib)."""
        rows = self.flat_index(factors)
        return (self.images[rows].transpose(0, 3, 1, 2) / 255.0).astype(np.float32)  # dlib divides in float64

    @classmethod
    def locate_files(cls, config: Cars3DConfig) -> dict[str, Any]:
        """Where the ``cars`` folder is looked for and whether it was found (for ``data info``)."""
        return {"in use": None, FOLDER: locations.file_status(FOLDER, config.data_dir, folder=True)}

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "files": {**self.locate_files(self.config), "in use": f"{len(self.files)} released files in {self.files[0].parent}"},
        }
