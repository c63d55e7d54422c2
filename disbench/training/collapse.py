"""Seeing a self-supervised run sit on its collapsed plateau.

A contrastive or VICReg loss has a known value when every embedding is the same
point: NT-Xent with the reference denominator sits at ``log(2B - 2)``, the
InfoNCE entropy term at the log of the number of candidates, VICReg's variance
term at ``25 (1 - 1e-2)``. Short budgets can spend most of their steps there
before escaping (or never escape), and a score read from such a run says nothing
about the method. Each SSL method names the logged term to watch; its collapsed
value is computed by the method's own loss on identical embeddings, so it is
right for any batch size, temperature or estimator
(:class:`~disbench.methods.collapse_probe.CollapseProbe`).

A *collapse stretch* is a run of consecutive logged steps where the watched term,
averaged over the last :data:`~disbench.methods.collapse_probe.WINDOW` steps (a
collapsed loss still jitters with the batch), is within
:data:`~disbench.methods.collapse_probe.RELATIVE_TOLERANCE` of the collapsed value, at
least :func:`min_stretch` steps long. The training loop reports a stretch as it
happens; the run's ``status.json`` keeps the stretches of the whole run (read
back from ``log.jsonl``, so a resumed run counts its earlier steps too).
"""

from __future__ import annotations

from collections import deque
from typing import Iterable

from disbench.methods.collapse_probe import WINDOW, CollapseProbe

#: a stretch is reported once it lasts this share of the budget (and at least MIN_STEPS)
BUDGET_SHARE = 0.1
MIN_STEPS = 50


def min_stretch(total_steps: int) -> int:
    """Steps a stretch must last to be reported, for a budget of ``total_steps``."""
    return max(MIN_STEPS, int(BUDGET_SHARE * total_steps))


def collapse_stretches(
    steps: Iterable[int], values: Iterable[float], probe: CollapseProbe, total_steps: int
) -> list[dict[str, int]]:
    """Stretches of at least :func:`min_stretch` steps where the watched term sat at its collapsed value.

    Args:
        steps: logged step indices (0-based, increasing).
        values: the watched term at those steps.
        probe: what collapse looks like for this run.
        total_steps: the run's budget.

    Returns:
        ``[{"from": first step, "to": last step + 1, "steps": length}, ...]`` in order;
        a stretch that lasts to the last logged step ends there.
    """
    shortest = min_stretch(total_steps)
    stretches: list[dict[str, int]] = []
    start: int | None = None
    last = -1
    for step, collapsed in zip(steps, _smoothed(values, probe)):
        if collapsed:
            if start is None:
                start = step
        elif start is not None:
            if step - start >= shortest:
                stretches.append({"from": start, "to": step, "steps": step - start})
            start = None
        last = step
    if start is not None and last + 1 - start >= shortest:
        stretches.append({"from": start, "to": last + 1, "steps": last + 1 - start})
    return stretches


def _smoothed(values: Iterable[float], probe: CollapseProbe) -> Iterable[bool]:
    """Whether the running mean over the last :data:`WINDOW` values (fewer at the start) is collapsed."""
    recent: deque[float] = deque(maxlen=WINDOW)
    for value in values:
        recent.append(value)
        yield probe.is_collapsed(sum(recent) / len(recent))


def summarise(stretches: list[dict[str, int]], total_steps: int) -> str:
    """One line for a person: where the run sat collapsed."""
    parts = [f"steps {s['from']}-{s['to']}" for s in stretches]
    share = sum(s["steps"] for s in stretches) / max(total_steps, 1)
    return f"collapsed ({', '.join(parts)}; {share:.0%} of {total_steps} steps)"


class CollapseWatch:
    """Follows the watched term step by step during training and says when a stretch starts and ends."""

    def __init__(self, probe: CollapseProbe, total_steps: int) -> None:
        self.probe = probe
        self.shortest = min_stretch(total_steps)
        self.recent: deque[float] = deque(maxlen=WINDOW)
        self.since: int | None = None
        self.announced = False

    def update(self, step: int, logs: dict[str, float]) -> str | None:
        """Feed one logged step; returns a message when a stretch becomes long enough or ends."""
        value = logs.get(self.probe.key)
        if value is None:
            return None
        self.recent.append(value)
        if self.probe.is_collapsed(sum(self.recent) / len(self.recent)):
            if self.since is None:
                self.since = step
            if not self.announced and step + 1 - self.since >= self.shortest:
                self.announced = True
                return f"collapsed since step {self.since}: {self.probe.describe()}"
            return None
        message = None
        if self.announced:
            message = f"left the collapsed plateau at step {step} (collapsed since step {self.since})"
        self.since, self.announced = None, False
        return message

    @property
    def status(self) -> str | None:
        """A short field for the progress line while a reported stretch lasts."""
        return f"since step {self.since}" if self.announced else None
