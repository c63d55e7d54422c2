"""Learning-rate schedules a method returns from :meth:`~disbench.methods.base.TorchMethod.lr_scale`."""

from __future__ import annotations

import math


def cosine_lr_scale(step: int, total_steps: int, warmup_steps: int = 0, end_ratio: float = 0.0) -> float:
    """Linear warm-up then cosine decay from 1 to ``end_ratio``, as a multiplier of the base learning rate."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return end_ratio + (1.0 - end_ratio) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
