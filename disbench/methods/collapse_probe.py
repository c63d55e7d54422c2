"""What collapse looks like for a self-supervised method: the logged term to watch and its value.

A method declares its probe (:meth:`~disbench.methods.base.TorchMethod.collapse_probe`);
the training loop watches the run with it (:mod:`disbench.training.collapse`).
"""

from __future__ import annotations

from dataclasses import dataclass

#: a running mean this close to the collapsed value, relative to max(|collapsed|, 1), counts as collapsed
RELATIVE_TOLERANCE = 0.02
#: steps in the running mean: NT-Xent on a plateau at batch 64 jitters by about 1% from step to step
WINDOW = 50


@dataclass(frozen=True)
class CollapseProbe:
    """The logged term to watch and its value at collapse."""

    key: str
    value: float

    def is_collapsed(self, logged: float) -> bool:
        return abs(logged - self.value) <= RELATIVE_TOLERANCE * max(abs(self.value), 1.0)

    def describe(self) -> str:
        return f"{self.key} (mean of {WINDOW} steps) within {RELATIVE_TOLERANCE:.0%} of its collapsed value {self.value:.4g}"
