"""Where dataset files are looked for: data folders, the render cache, and reporting what was found.

Real files come from the user: a ``data_dir`` option names the folder, otherwise
the ``DISBENCH_DATA`` environment variable does. Files disbench makes itself
(the rendered dSprites cache) go to ``cache_dir``, ``DISBENCH_CACHE`` or the
platform's user cache folder (platformdirs: ``$XDG_CACHE_HOME/disbench``, by default
``~/.cache/disbench``, on Linux). Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from disbench.errors import UsageError

DATA_ENV = "DISBENCH_DATA"
CACHE_ENV = "DISBENCH_CACHE"


def data_dir(option: str | None) -> Path | None:
    """The folder real dataset files are read from, or ``None`` when neither option nor env names one.

    Raises:
        UsageError: the folder is named but does not exist.
    """
    source = "data_dir option" if option else f"{DATA_ENV} environment variable"
    value = option or os.environ.get(DATA_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise UsageError(f"data folder {str(path)!r} (from the {source}) does not exist; create it or fix the path.")
    return path


def cache_dir(option: str | None = None) -> Path:
    """The folder for files disbench renders itself (created on demand by :func:`prepare`).

    ``option``, else ``$DISBENCH_CACHE``, else the platform's user cache folder for disbench.
    """
    from platformdirs import user_cache_path

    value = option or os.environ.get(CACHE_ENV)
    return Path(value).expanduser() if value else user_cache_path("disbench", appauthor=False)


def find_file(name: str, option: str | None, folder: bool = False) -> Path | None:
    """``data_dir/name`` when it exists (as a file, or as a folder with ``folder=True``), else ``None``."""
    parent = data_dir(option)
    if parent is None:
        return None
    path = parent / name
    return path if (path.is_dir() if folder else path.is_file()) else None


def require_file(name: str, option: str | None, what: str, obtain: str, folder: bool = False) -> Path:
    """``data_dir/name``, or a one-line UsageError: ``{what} not found at {where}; {obtain}.``

    Args:
        what: what is missing, e.g. ``"Shapes3D file"``.
        obtain: how to get it and where to put it, e.g. ``"download it from URL and put it there"``.
    """
    path = find_file(name, option, folder)
    if path is None:
        raise UsageError(f"{what} not found at {looked_for(name, option)[0]}; {obtain}.")
    return path


def looked_for(name: str, option: str | None) -> list[str]:
    """The places :func:`find_file` looks, as text for ``disbench data info``."""
    if option:
        return [str(Path(option).expanduser() / name)]
    env = os.environ.get(DATA_ENV)
    if env:
        return [str(Path(env).expanduser() / name)]
    return [f"${DATA_ENV}/{name} (set {DATA_ENV} or the data_dir option)"]


def file_status(name: str, option: str | None, folder: bool = False) -> dict[str, object]:
    """Where ``name`` is looked for and whether it is there, never raising (for ``data info``)."""
    status: dict[str, object] = {"looked for": looked_for(name, option)[0]}
    try:
        status["found"] = find_file(name, option, folder) is not None
    except UsageError as exc:
        status["found"] = False
        status["problem"] = str(exc)
    return status
