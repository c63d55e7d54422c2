"""Reading user arrays (codes, factors) for ``disbench eval --codes FILE --factors FILE``.

Formats by extension: ``.npy``, ``.npz``, ``.h5`` / ``.hdf5``, ``.pt`` / ``.pth``.
Nothing is unpickled: ``np.load(allow_pickle=False)`` and
``torch.load(weights_only=True)``. A file holding several arrays needs ``key``;
every failure is a :class:`UsageError` naming the file and what to do. The key may
also be written after the path, ``codes.npz:z`` (:func:`split_key`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from disbench.errors import UsageError

SUFFIXES = (".npy", ".npz", ".h5", ".hdf5", ".pt", ".pth")


def _choose(arrays: dict, key: str | None, path: Path, what: str):
    """The one array of ``arrays`` (or ``arrays[key]``), else a UsageError listing the keys."""
    names = sorted(arrays)
    listing = ", ".join(names) if names else "(none)"
    if key is not None:
        if key not in arrays:
            raise UsageError(f"{what} file {str(path)!r} has no array {key!r}; its arrays are: {listing}.")
        return arrays[key]
    if len(arrays) != 1:
        raise UsageError(
            f"{what} file {str(path)!r} holds {len(arrays)} arrays ({listing}); say which after a colon "
            f"(e.g. {path}:{names[0] if names else 'NAME'})."
        )
    return next(iter(arrays.values()))


def _read_h5(path: Path, key: str | None, what: str) -> np.ndarray:
    import h5py

    with h5py.File(path, "r") as handle:
        datasets: dict[str, object] = {}

        def collect(name: str, item: object) -> None:  # visititems stops at the first callback that returns a value
            if isinstance(item, h5py.Dataset):
                datasets[name] = item

        handle.visititems(collect)
        return np.asarray(_choose(datasets, key, path, what)[()])


def _read_pt(path: Path, key: str | None, what: str) -> np.ndarray:
    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for bad or unsafe files
        raise UsageError(
            f"{what} file {str(path)!r} could not be read by torch.load(weights_only=True) "
            f"({type(exc).__name__}); save plain tensors or a dict of tensors."
        ) from None
    if isinstance(loaded, torch.Tensor):
        if key is not None:
            raise UsageError(f"{what} file {str(path)!r} holds one tensor, not a dict; drop the key {key!r}.")
        return loaded.detach().cpu().numpy()
    if isinstance(loaded, dict):
        tensors = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
        return _choose(tensors, key, path, what).detach().cpu().numpy()
    raise UsageError(f"{what} file {str(path)!r} holds a {type(loaded).__name__}; save a tensor or a dict of tensors.")


def split_key(path: str | Path, key: str | None = None, what: str = "codes") -> tuple[Path, str | None]:
    """``("codes.npz:z", None)`` -> ``(Path("codes.npz"), "z")``; a path that exists as written is kept whole.

    Raises:
        UsageError: a key both after the path and in ``key``.
    """
    text = str(path)
    if Path(text).exists() or ":" not in text:
        return Path(text), key
    file_part, _, inline_key = text.rpartition(":")
    if not file_part or not inline_key or Path(file_part).suffix.lower() not in SUFFIXES:
        return Path(text), key
    if key is not None and key != inline_key:
        raise UsageError(f"{what} file {text!r} names the key {inline_key!r} and the key option names {key!r}; give one.")
    return Path(file_part), inline_key


def load_array(path: str | Path, key: str | None = None, what: str = "codes") -> np.ndarray:
    """Read one array from a file.

    Args:
        path: a ``.npy``, ``.npz``, ``.h5``/``.hdf5`` or ``.pt``/``.pth`` file, optionally
            followed by ``:KEY``.
        key: which array, when the file holds several (npz member, HDF5 dataset path, dict key).
        what: what the array is, for error messages (``"codes"``, ``"factors"``).

    Returns:
        The array as numpy.

    Raises:
        UsageError: missing file, unknown extension, unreadable or corrupt file, an ambiguous
            or missing key.
    """
    path, key = split_key(path, key, what)
    if not path.is_file():
        raise UsageError(f"{what} file {str(path)!r} does not exist; check the path.")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(
            f"{what} file {str(path)!r} has an unknown extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(SUFFIXES)}."
        )
    magic = {".npy": b"\x93NUMPY", ".npz": b"PK", ".h5": b"\x89HDF", ".hdf5": b"\x89HDF"}.get(suffix)
    if magic is not None:
        with open(path, "rb") as handle:
            if handle.read(len(magic)) != magic:
                raise UsageError(f"{what} file {str(path)!r} is corrupt or not a {suffix} file (wrong header).")
    try:
        if suffix == ".npy":
            if key is not None:
                raise UsageError(f"{what} file {str(path)!r} is a .npy holding one array; drop the key {key!r}.")
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return np.asarray(_choose({name: archive[name] for name in archive.files}, key, path, what))
        if suffix in (".h5", ".hdf5"):
            return _read_h5(path, key, what)
        return _read_pt(path, key, what)
    except UsageError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UsageError(
                f"{what} file {str(path)!r} holds pickled objects, which disbench never loads; save a numeric array."
            ) from None
        raise UsageError(f"{what} file {str(path)!r} is corrupt or not a {suffix} file ({exc}).") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:  # BadZipFile: a truncated .npz
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"{what} file {str(path)!r} is corrupt or unreadable ({first}).") from None
