"""Name -> implementation registries for methods, datasets and metrics.

Each family module decorates its entry with ``@REGISTRY.register("name")``; the
package ``__init__`` of each family imports every module so registration happens
on import (timm's pattern). Unknown names raise a :class:`UsageError` that lists
close matches and every known name.
"""

from __future__ import annotations

import difflib
import fnmatch
from typing import Callable, Generic, Iterator, TypeVar

from disbench.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping from a user-facing name to an implementation."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            try:
                setattr(entry, "registered_name", name)
            except (AttributeError, TypeError):
                pass
            return entry

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UsageError(unknown_name_message(self.kind, name, list(self._entries))) from None

    def names(self, pattern: str | None = None) -> list[str]:
        """Registered names, optionally filtered by a shell-style wildcard (``vae*``)."""
        return matching(list(self._entries), pattern)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def items(self):
        return self._entries.items()


def matching(names: list[str], pattern: str | None) -> list[str]:
    """``names`` containing ``pattern`` anywhere, ``*``, ``?`` and ``[...]`` being wildcards
    (``vae*`` finds ``beta-vae``, as ``vae`` and ``*vae*`` do); case-sensitive."""
    if not pattern:
        return names
    return [n for n in names if fnmatch.fnmatchcase(n, f"*{pattern}*")]


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    """One line: the unknown name, up to three close matches, and the full list."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(sorted(known))}."
