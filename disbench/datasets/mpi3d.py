"""MPI3D (Gondal et al. 2019): toy, realistic and real, read memory-mapped from the released ``.npz``.

Each released file holds one array, ``images``: 1,036,800 x 64 x 64 x 3 uint8, every
combination of object colour 6, object shape 6, object size 2, camera height 3,
background colour 3, horizontal axis 40 and vertical axis 40 in row-major order
(vertical axis fastest). The publisher writes it with ``np.savez``, so the member is
stored uncompressed, and disbench memory-maps it where it lies inside the zip: a
batch reads its own images, and the 12.7 GB array is never loaded. A member stored
compressed cannot be mapped and is refused with the reason.

The factor sizes follow from the number of images: 1,036,800 is the final release;
460,800 is the first release (object colour and shape 4 values each), the layout
disentanglement_lib's ``MPI3D`` class still assumes for toy and realistic.

Groups: content = object shape; ``colour`` = object and background colour;
``geometry`` = object size and camera height; ``position`` = the two axes of the
robot arm that holds the object.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from disbench.datasets import locations
from disbench.datasets.base import CONTENT, DatasetConfig, Factor
from disbench.datasets.grid import FactorGridDataset
from disbench.datasets.registry import DATASETS
from disbench.errors import DisbenchError

FACTORS = (
    ("object_color", "colour"),
    ("object_shape", CONTENT),
    ("object_size", "geometry"),
    ("camera_height", "geometry"),
    ("background_color", "colour"),
    ("horizontal_axis", "position"),
    ("vertical_axis", "position"),
)
#: number of images -> factor sizes: the final release, and the first one (dlib's class)
LAYOUTS = {1_036_800: (6, 6, 2, 3, 3, 40, 40), 460_800: (4, 4, 2, 3, 3, 40, 40)}
IMAGE_SHAPE = (64, 64, 3)
MEMBER = "images.npy"
URL = "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/{name}"
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, 22 bytes we skip, name and extra-field lengths


@dataclass
class MPI3DConfig(DatasetConfig):
    """Attributes:
    data_dir: folder holding the released ``mpi3d_*.npz`` (default ``$DISBENCH_DATA``).
    """

    data_dir: str | None = None


def released_size(count: int) -> str:
    """``12.7 GB``: the size of a released file of ``count`` images (header aside)."""
    return f"{count * int(np.prod(IMAGE_SHAPE)) / 1e9:.1f} GB"


def map_images(path: Path, describe: str) -> np.memmap:
    """The ``images`` member of an ``.npz`` as a read-only memory map, shape ``(N, 64, 64, 3)`` uint8.

    Nothing is unpickled: the ``.npy`` header is parsed by NumPy's format reader and
    the data is mapped at its offset in the zip.

    Raises:
        DisbenchError: not a zip, no ``images`` member, a compressed member, a wrong
            shape, dtype or image count, or a file shorter than its header says.
    """

    def bad(problem: str) -> DisbenchError:
        return DisbenchError(f"{describe} file {str(path)!r} {problem}; replace it with the released "
                             f"{path.name} ({URL.format(name=path.name)}).")

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if MEMBER not in names:
                raise bad(f"has no 'images' array (arrays: {', '.join(n.removesuffix('.npy') for n in names) or 'none'})")
            info = archive.getinfo(MEMBER)
        if info.compress_type != zipfile.ZIP_STORED:
            raise bad("stores 'images' compressed (np.savez_compressed), which cannot be memory-mapped; "
                      "the released file stores it uncompressed")
        with open(path, "rb") as handle:
            handle.seek(info.header_offset)
            signature, name_length, extra_length = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
            if signature != b"PK\x03\x04":
                raise bad("has a damaged zip entry for 'images'")
            handle.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(handle)
            offset = handle.tell()
        file_size = path.stat().st_size
    except DisbenchError:
        raise
    except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "truncated"
        raise bad(f"cannot be read ({type(exc).__name__}: {detail})") from None

    if len(shape) != 4 or tuple(shape[1:]) != IMAGE_SHAPE or dtype != np.uint8 or fortran_order:
        raise bad(f"has images of shape {tuple(shape)} and dtype {dtype}, expected (N, 64, 64, 3) uint8")
    if shape[0] not in LAYOUTS:
        counts = " or ".join(f"{n:,}" for n in LAYOUTS)
        raise bad(f"has {shape[0]:,} images, expected {counts} (every factor combination once)")
    needed = offset + shape[0] * int(np.prod(IMAGE_SHAPE))
    if file_size < needed:
        raise bad(f"is truncated: {file_size:,} bytes where its images need {needed:,} ({released_size(shape[0])})")
    return np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=tuple(shape))


class MPI3D(FactorGridDataset):
    """A robot arm holding an object in front of a camera, 7 factors (Gondal et al. 2019)."""

    Config = MPI3DConfig
    #: ``toy``, ``realistic`` or ``real`` (the released file is ``mpi3d_{variant}.npz``)
    variant: ClassVar[str] = ""

    def __init__(self, config: MPI3DConfig | None = None) -> None:
        super().__init__(config)
        name = self.file_name()
        self.path = locations.require_file(
            name, self.config.data_dir, f"MPI3D-{self.variant} file",
            f"download {name} ({released_size(max(LAYOUTS))}) from {URL.format(name=name)} and put it there",
        )
        images = map_images(self.path, f"MPI3D-{self.variant}")
        sizes = LAYOUTS[len(images)]
        self.factors = [Factor(factor, group, size) for (factor, group), size in zip(FACTORS, sizes)]
        self.style_groups = ["colour", "geometry", "position"]
        self.observation_shape = (3, 64, 64)
        self._images: np.memmap | None = images

    @classmethod
    def file_name(cls) -> str:
        return f"mpi3d_{cls.variant}.npz"

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Float32 images ``(n, 3, 64, 64)`` in [0, 1] (uint8 / 255, as dlib), read in file order."""
        rows = self.flat_index(factors)
        unique, inverse = np.unique(rows, return_inverse=True)
        if self._images is None:
            self._images = map_images(self.path, f"MPI3D-{self.variant}")
        try:
            block = np.asarray(self._images[unique])
        except OSError as exc:
            raise DisbenchError(f"MPI3D-{self.variant} file {str(self.path)!r} cannot be read ({exc}).") from None
        return (block[inverse.reshape(-1)].transpose(0, 3, 1, 2) / 255.0).astype(np.float32)  # dlib divides in float64

    def __getstate__(self) -> dict[str, Any]:
        # a memory map would be pickled as its whole contents: workers map the file again
        return {**self.__dict__, "_images": None}

    @classmethod
    def locate_files(cls, config: MPI3DConfig) -> dict[str, Any]:
        """Where the released file is looked for and whether it was found (for ``data info``)."""
        return {"in use": None, cls.file_name(): locations.file_status(cls.file_name(), config.data_dir)}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "files": {**self.locate_files(self.config), "in use": str(self.path)}}


@DATASETS.register("mpi3d-toy")
class MPI3DToy(MPI3D):
    """MPI3D with simple rendered images."""

    variant = "toy"
    summary = "MPI3D-toy 64x64 RGB renders, 1,036,800 images from the released mpi3d_toy.npz (no default)"


@DATASETS.register("mpi3d-realistic")
class MPI3DRealistic(MPI3D):
    """MPI3D with realistic rendered images."""

    variant = "realistic"
    summary = "MPI3D-realistic 64x64 RGB renders, 1,036,800 images from the released mpi3d_realistic.npz (no default)"


@DATASETS.register("mpi3d-real")
class MPI3DReal(MPI3D):
    """MPI3D photographed on the real robot platform."""

    variant = "real"
    summary = "MPI3D-real 64x64 RGB photographs, 1,036,800 images from the released mpi3d_real.npz (no default)"
