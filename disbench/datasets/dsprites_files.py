"""The pixels behind dSprites: the released ``.npz``, the rendered cache, or the renderer itself.

All three give the same thing, a :class:`SpriteSource`: binary 64 x 64 masks for
(shape, scale, orientation, x, y) indices. Files are held bit-packed in memory
(368 MB for the full grid instead of 2.9 GB), so gathering a batch is a fancy
index plus ``np.unpackbits``.

The released file is read without unpickling: its ``metadata`` entry is a
pickled object and is never opened; ``imgs`` is streamed from the zip member in
blocks and packed as it arrives, so the 2.9 GB array never exists in memory.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, Callable

import numpy as np

from disbench.datasets import sprites
from disbench.errors import DisbenchError

RELEASED_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
CACHE_NAME = f"dsprites_rendered_v{sprites.RENDERER_VERSION}.h5"
_BLOCK = 16_384  # images per streamed or rendered block


class SpriteSource:
    """Binary sprite masks for factor indices over a (shape, scale, orientation, x, y) grid.

    Attributes:
        sizes: number of values of each of the five factors.
        origin: where the pixels come from, for ``data info`` and leaderboard provenance.
    """

    def __init__(self, sizes: tuple[int, ...], origin: str, load_packed: Callable[[], np.ndarray] | None):
        self.sizes = tuple(int(s) for s in sizes)
        self.origin = origin
        self._load_packed = load_packed
        self._packed: np.ndarray | None = None

    def masks(self, factors: np.ndarray) -> np.ndarray:
        """uint8 masks in {0, 1}, shape ``(n, 64, 64)``, for int64 indices of shape ``(n, 5)``."""
        if self._load_packed is None:
            return sprites.render_sprites(factors)
        if self._packed is None:
            self._packed = self._load_packed()
        rows = np.ravel_multi_index(tuple(factors.T), self.sizes)
        return np.unpackbits(self._packed[rows], axis=-1)


def rendered_source() -> SpriteSource:
    return SpriteSource(sprites.GRID_SIZES, "rendered in-process", None)


# --- the released file -------------------------------------------------------------------------


def _npy_header(stream: IO[bytes]) -> tuple[tuple[int, ...], np.dtype, bool]:
    """Shape, dtype and Fortran order from a ``.npy`` header, leaving ``stream`` at the data."""
    version = np.lib.format.read_magic(stream)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read(stream)
    return shape, dtype, fortran_order


def _bad_file(path: Path, problem: str) -> DisbenchError:
    return DisbenchError(
        f"dSprites file {str(path)!r} {problem}; replace it with the released "
        f"{RELEASED_NAME} (https://github.com/google-deepmind/dsprites-dataset)."
    )


def released_source(path: Path) -> SpriteSource:
    """Check the released ``.npz`` (keys, shapes, dtypes, ordering) and return a lazy source.

    The factor sizes are read from ``latents_classes`` (so a smaller file in the same
    layout works); images must be ordered with y fastest, then x, orientation, scale,
    shape (the row is the mixed-radix number of ``latents_classes``).

    Raises:
        DisbenchError: not a zip/npz, a missing key, a wrong shape or dtype, or rows out of order.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            for key in ("imgs", "latents_classes"):
                if f"{key}.npy" not in members:
                    raise _bad_file(path, f"has no {key!r} array (keys: {', '.join(sorted(m[:-4] for m in members))})")
            with archive.open("imgs.npy") as stream:
                images_shape, images_dtype, fortran = _npy_header(stream)
        with np.load(path, allow_pickle=False) as npz:
            classes = npz["latents_classes"]
    except DisbenchError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise _bad_file(path, f"cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'truncated'})") from None

    if classes.ndim != 2 or classes.shape[1] != 6 or not np.issubdtype(classes.dtype, np.integer):
        raise _bad_file(path, f"has latents_classes of shape {classes.shape} and dtype {classes.dtype}, expected (N, 6) integers")
    if len(images_shape) != 3 or images_shape[1:] != (64, 64) or images_dtype != np.uint8 or fortran:
        raise _bad_file(path, f"has imgs of shape {images_shape} and dtype {images_dtype}, expected (N, 64, 64) uint8")
    if images_shape[0] != len(classes):
        raise _bad_file(path, f"has {images_shape[0]} images but {len(classes)} rows of latents_classes")
    if len(classes) == 0 or classes.min() < 0:
        raise _bad_file(path, "has empty or negative latents_classes")
    sizes = tuple(int(s) for s in classes.max(axis=0) + 1)
    if sizes[0] != 1:
        raise _bad_file(path, f"has {sizes[0]} colours, expected 1")
    if np.prod(sizes) != len(classes) or not np.array_equal(
        np.ravel_multi_index(tuple(classes.T), sizes), np.arange(len(classes))
    ):
        raise _bad_file(path, "is not in the released order (y fastest, then x, orientation, scale, shape)")
    return SpriteSource(sizes[1:], f"released file {path}", lambda: _stream_packed(path, len(classes)))


def _stream_packed(path: Path, count: int) -> np.ndarray:
    """``imgs`` of the released file, bit-packed along the width: shape ``(count, 64, 8)``."""
    packed = np.empty((count, 64, 8), dtype=np.uint8)
    image_bytes = 64 * 64
    try:
        with zipfile.ZipFile(path) as archive, archive.open("imgs.npy") as stream:
            _npy_header(stream)
            for start in range(0, count, _BLOCK):
                stop = min(start + _BLOCK, count)
                raw = stream.read((stop - start) * image_bytes)
                if len(raw) != (stop - start) * image_bytes:
                    raise _bad_file(path, f"ends after {start + len(raw) // image_bytes} of {count} images")
                block = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 64, 64)
                if block.max(initial=0) > 1:
                    raise _bad_file(path, "has imgs values other than 0 and 1")
                packed[start:stop] = np.packbits(block, axis=-1)
    except DisbenchError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise _bad_file(path, f"cannot be read ({type(exc).__name__})") from None
    return packed


# --- the rendered cache ------------------------------------------------------------------------


def cached_source(path: Path) -> SpriteSource:
    """The cache written by :func:`write_cache`, loaded into memory on first use."""
    return SpriteSource(sprites.GRID_SIZES, f"render cache {path}", lambda: _read_cache(path))


def _read_cache(path: Path) -> np.ndarray:
    import h5py

    hint = "delete it and run `disbench data prepare dsprites` again"
    try:
        with h5py.File(path, "r") as handle:
            data = handle.get("imgs_packed")
            expected = (int(np.prod(sprites.GRID_SIZES)), 64, 8)
            if data is None or data.shape != expected or data.dtype != np.uint8:
                raise DisbenchError(f"dSprites cache {str(path)!r} has no uint8 imgs_packed of shape {expected}; {hint}.")
            if int(handle.attrs.get("renderer_version", -1)) != sprites.RENDERER_VERSION:
                raise DisbenchError(f"dSprites cache {str(path)!r} was rendered by another renderer version; {hint}.")
            return data[...]
    except DisbenchError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise DisbenchError(f"dSprites cache {str(path)!r} cannot be read ({type(exc).__name__}); {hint}.") from None


def write_cache(path: Path) -> Path:
    """Render all 737,280 images into a gzip-compressed, bit-packed HDF5 file (atomically)."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    total = int(np.prod(sprites.GRID_SIZES))
    try:
        with h5py.File(temporary, "w") as handle:
            data = handle.create_dataset(
                "imgs_packed", shape=(total, 64, 8), dtype=np.uint8,
                chunks=(4096, 64, 8), compression="gzip", compression_opts=4,
            )
            handle.attrs["renderer_version"] = sprites.RENDERER_VERSION
            handle.attrs["factor_sizes"] = np.asarray(sprites.GRID_SIZES)
            handle.attrs["layout"] = "row = ravel_multi_index((shape, scale, orientation, x, y)); bits packed along width"
            for start in range(0, total, _BLOCK):
                rows = np.arange(start, min(start + _BLOCK, total))
                factors = np.stack(np.unravel_index(rows, sprites.GRID_SIZES), axis=1)
                data[start : start + len(rows)] = np.packbits(sprites.render_sprites(factors), axis=-1)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
