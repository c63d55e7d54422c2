"""SmallNORB (LeCun et al. 2004) as disentanglement_lib reads it: both splits, left camera, 64 x 64.

The release is six files in NORB's binary matrix format,
``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and the same for
``5x01235x9x18x6x2x96x96-testing``: a little-endian int32 magic number naming the
element type, an int32 count of dimensions, at least three int32 dimensions (unused
ones are 1), then the data. ``dat`` holds 24,300 stereo pairs (24,300 x 2 x 96 x 96
uint8), ``cat`` the category of each (24,300 int32), ``info`` its instance, elevation,
azimuth and lighting (24,300 x 4 int32, azimuth in steps of 2).

As disentanglement_lib's ``SmallNORB``: the two splits are concatenated (48,600 images,
every combination of category 5, instance 10, elevation 9, azimuth 18, lighting 6 once),
the left image of each pair is resized to 64 x 64 with Pillow's Lanczos filter on its
integer values (dlib's int8 array becomes a 32-bit integer image, so values are rounded
but not clipped and may leave [0, 255] slightly), and the factors are category,
elevation, azimuth and lighting; the instance is not a factor but drawn uniformly for
each observation.

Groups: content = category; ``viewpoint`` = elevation and azimuth; ``lighting``.
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

SPLITS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
KINDS = ("dat", "cat", "info")
URL = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
#: magic number -> element type (NORB's "byte matrix" is unsigned; dlib reads it as int8 and
#: Pillow then reads those bytes back as unsigned, so the pixel values are the same)
MAGIC = {
    0x1E3D4C55: np.dtype(np.uint8),
    0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C56: np.dtype("<i2"),
    0x1E3D4C51: np.dtype("<f4"),
    0x1E3D4C53: np.dtype("<f8"),
}
#: the columns of cat + info, in dlib's order; instance (column 1) is not a factor
COLUMNS = ("category", "instance", "elevation", "azimuth", "lighting")
FACTORS = (("category", CONTENT), ("elevation", "viewpoint"), ("azimuth", "viewpoint"), ("lighting", "lighting"))
LATENT_COLUMNS = (0, 2, 3, 4)
RELEASED_SIZES = (5, 10, 9, 18, 6)
#: each released file's size in bytes (header included), for the messages
RELEASED_BYTES = {"dat": 24_300 * 2 * 96 * 96 + 24, "cat": 24_300 * 4 + 20, "info": 24_300 * 4 * 4 + 20}
SIZE = 64


def file_name(split: str, kind: str) -> str:
    return f"smallnorb-{split}-{kind}.mat"


def file_names() -> list[str]:
    return [file_name(split, kind) for split in SPLITS for kind in KINDS]


def released_bytes(name: str) -> str:
    """``447,897,624 bytes``: the size of the released, unzipped file ``name``."""
    kind = name.rsplit("-", 1)[-1].removesuffix(".mat")
    return f"{RELEASED_BYTES[kind]:,} bytes" if kind in RELEASED_BYTES else "size unknown"


def _bad_file(path: Path, problem: str) -> DisbenchError:
    return DisbenchError(
        f"SmallNORB file {str(path)!r} {problem}; replace it with the released {path.name} "
        f"({released_bytes(path.name)}; gunzip the .gz from {URL})."
    )


def read_binary_matrix(path: Path) -> np.ndarray:
    """A NORB binary matrix file as a read-only array (memory-mapped), its shape from the header.

    Raises:
        DisbenchError: an unknown magic number, an implausible header, or fewer bytes than
            the header's dimensions need.
    """
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as handle:
            head = np.frombuffer(handle.read(8), dtype="<i4")
            if len(head) < 2:
                raise _bad_file(path, f"is {file_size} bytes long, shorter than a binary matrix header")
            magic, ndim = int(head[0]), int(head[1])
            if magic not in MAGIC:
                raise _bad_file(path, f"has magic number {magic:#x}, not a NORB binary matrix")
            if not 1 <= ndim <= 16:
                raise _bad_file(path, f"declares {ndim} dimensions")
            stored = max(3, ndim)  # the format always stores at least three dimensions
            dims = np.frombuffer(handle.read(4 * stored), dtype="<i4")
    except DisbenchError:
        raise
    except OSError as exc:
        raise _bad_file(path, f"cannot be read ({type(exc).__name__})") from None
    if len(dims) < stored or (dims[:ndim] < 0).any():
        raise _bad_file(path, "has a truncated or negative list of dimensions")
    shape = tuple(int(d) for d in dims[:ndim])
    dtype = MAGIC[magic]
    offset = 8 + 4 * stored
    needed = offset + int(np.prod(shape)) * dtype.itemsize
    if file_size < needed:
        raise _bad_file(path, f"is truncated: {file_size:,} bytes where its header {shape} needs {needed:,}")
    if np.prod(shape) == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def resize_lanczos_integer(images: np.ndarray, size: int = SIZE) -> np.ndarray:
    """``(n, H, W)`` grey images resized to ``(n, size, size)`` as dlib does, values kept as integers.

    Each image goes through Pillow as a 32-bit integer image (what dlib's int8 array
    becomes), resized with the Lanczos filter: rounded, not clipped.
    """
    from PIL import Image

    resized = np.empty((len(images), size, size), dtype=np.int16)
    for i, image in enumerate(images):
        picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.int32))
        resized[i] = np.asarray(picture.resize((size, size), Image.Resampling.LANCZOS))
    return resized


@dataclass
class SmallNORBConfig(DatasetConfig):
    """Attributes:
    data_dir: folder holding the six released ``smallnorb-*.mat`` files, unzipped
        (default ``$DISBENCH_DATA``).
    """

    data_dir: str | None = None


@DATASETS.register("smallnorb")
class SmallNORB(FactorGridDataset):
    """Grey 64x64 photographs of toys: category, elevation, azimuth, lighting (LeCun et al. 2004)."""

    Config = SmallNORBConfig
    summary = "SmallNORB 64x64 grey, 48,600 images from the six released binary .mat files (no default)"

    def __init__(self, config: SmallNORBConfig | None = None) -> None:
        super().__init__(config)
        paths = {
            name: locations.require_file(
                name, self.config.data_dir, "SmallNORB file",
                f"download {name}.gz from {URL}, gunzip it ({released_bytes(name)}) and put it there "
                "(the six smallnorb-*.mat files, both splits, go together)",
            )
            for name in file_names()
        }
        self.paths = list(paths.values())
        features, pictures = [], []
        for split in SPLITS:
            split_features, split_pictures = self._read_split(split, paths)
            features.append(split_features)
            pictures.append(split_pictures)
        features = np.concatenate(features)
        self.column_sizes = self._check_grid(features)
        # row of each full factor combination (category, instance, elevation, azimuth, lighting)
        self.row_of = np.empty(int(np.prod(self.column_sizes)), dtype=np.int64)
        self.row_of[np.ravel_multi_index(tuple(features.T), self.column_sizes)] = np.arange(len(features))
        self.images = resize_lanczos_integer(np.concatenate(pictures))
        self.factors = [Factor(name, group, self.column_sizes[column])
                        for (name, group), column in zip(FACTORS, LATENT_COLUMNS)]
        self.style_groups = ["viewpoint", "lighting"]
        self.observation_shape = (1, SIZE, SIZE)

    @staticmethod
    def _read_split(split: str, paths: dict[str, Path]) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(N, 5)`` (dlib's columns, azimuth halved) and left-camera images ``(N, H, W)``."""
        dat_path, cat_path, info_path = (paths[file_name(split, kind)] for kind in KINDS)
        pairs = read_binary_matrix(dat_path)
        category = read_binary_matrix(cat_path)
        info = read_binary_matrix(info_path)
        if pairs.ndim != 4 or pairs.shape[1] != 2 or pairs.dtype != np.uint8:
            raise _bad_file(dat_path, f"holds {pairs.dtype} of shape {pairs.shape}, expected (N, 2, 96, 96) bytes")
        if category.ndim != 1 or category.dtype.kind != "i":
            raise _bad_file(cat_path, f"holds {category.dtype} of shape {category.shape}, expected (N,) int32")
        if info.ndim != 2 or info.shape[1] != 4 or info.dtype.kind != "i":
            raise _bad_file(info_path, f"holds {info.dtype} of shape {info.shape}, expected (N, 4) int32")
        if not len(pairs) == len(category) == len(info):
            raise _bad_file(dat_path, f"holds {len(pairs)} images where its cat and info files hold "
                                      f"{len(category)} and {len(info)}")
        features = np.column_stack([category, info]).astype(np.int64)
        if (features[:, 3] % 2).any():
            raise _bad_file(info_path, "has an odd azimuth (the released ones are 0, 2, ..., 34)")
        features[:, 3] //= 2
        return features, pairs[:, 0]

    def _check_grid(self, features: np.ndarray) -> tuple[int, ...]:
        """Column sizes, after checking every combination appears exactly once (as dlib's index requires)."""
        if len(features) == 0 or features.min() < 0:
            raise _bad_file(self.paths[1], "has no rows, or negative labels")
        sizes = tuple(int(s) for s in features.max(axis=0) + 1)
        flat = np.ravel_multi_index(tuple(features.T), sizes)
        if np.prod(sizes) != len(features) or len(np.unique(flat)) != len(features):
            raise _bad_file(self.paths[1], "and its sibling files do not hold every (category, instance, "
                                           "elevation, azimuth, lighting) combination exactly once")
        return sizes

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Float32 images ``(n, 1, 64, 64)`` (resized integers / 255), each of a random instance."""
        latent = self.check_factors(factors)
        full = np.empty((len(latent), len(COLUMNS)), dtype=np.int64)
        full[:, LATENT_COLUMNS] = latent
        full[:, 1] = rng.integers(0, self.column_sizes[1], size=len(latent))
        rows = self.row_of[np.ravel_multi_index(tuple(full.T), self.column_sizes)]
        return (self.images[rows][:, None] / 255.0).astype(np.float32)  # dlib divides in float64

    @classmethod
    def locate_files(cls, config: SmallNORBConfig) -> dict[str, Any]:
        """Where each of the six files is looked for and whether it was found (for ``data info``)."""
        return {"in use": None, **{name: locations.file_status(name, config.data_dir) for name in file_names()}}

    def describe(self) -> dict[str, Any]:
        folder = self.paths[0].parent
        return {**super().describe(), "files": {**self.locate_files(self.config), "in use": f"released files in {folder}"}}
