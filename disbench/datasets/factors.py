"""A ground-truth factor of variation: its name, its transformation group and its values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Factor:
    """One ground-truth factor of variation.

    Attributes:
        name: e.g. ``"scale"`` or ``"style:0/2"``.
        group: name of the transformation group that changes it (``"content"`` or a style group).
        num_values: number of discrete values, or ``None`` for a continuous factor.
    """

    name: str
    group: str
    num_values: int | None = None

    @property
    def continuous(self) -> bool:
        return self.num_values is None
