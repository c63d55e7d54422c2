"""Modules imported on first use: torch costs seconds to import, and listing or checking
configurations never needs it.

A method module names torch through :func:`lazy_module`; the import happens when an
attribute is first read (in ``build``, ``training_step``, ...), never when the module is
imported to register its methods and their hyperparameter dataclasses.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for the module ``name``; imports it when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        super().__init__(name)

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)  # cached in sys.modules after the first call
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports ``name`` on first attribute access."""
    return LazyModule(name)
