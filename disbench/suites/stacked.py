"""A suite's entries trained N at a time as one stacked model (``stack: N``, ``bench --stack N``).

Entries that share method, dataset, steps and every setting but the seed and their method's
stackable numbers (:func:`disbench.training.stacked_runs.stack_groups`) are cut, in suite
order, into batches of at most N. A batch trains as one stacked model
(:func:`disbench.training.stacked_runs.train_many`); then each of its entries is scored as a
single entry is (:func:`disbench.suites.entry.score_entry`). Entries of a method that cannot stack
are batches of one, run as any entry. A member whose loss turns NaN fails alone: the others
are scored, then the batch reports the failure as a failing entry would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from disbench.errors import DisbenchError, UsageError


def check_stack_size(value: Any, where: str) -> int:
    """A suite's ``stack`` (or ``--stack``): how many entries train as one model, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where}: stack must be a whole number of runs trained together, at least 1; got {value!r}.")
    return value


def stacked_batches(suite: Any, entries: Sequence[Any], size: int) -> list[list[Any]]:
    """``entries`` as the batches that train together: each group of stackable entries in
    chunks of at most ``size``, in the order of each group's first entry."""
    from disbench.training.stacked_runs import stack_groups

    if size <= 1:
        return [[entry] for entry in entries]
    batches = []
    for group in stack_groups([suite.spec(entry) for entry in entries]):
        batches += [[entries[i] for i in group[start : start + size]] for start in range(0, len(group), size)]
    return batches


def run_batch(
    suite: Any,
    batch: Sequence[Any],
    runs_dir: str | Path,
    leaderboard: str | Path,
    device: str = "auto",
    overwrite: bool = False,
    threads: int | None = None,
    progress: Any = None,
) -> list[Any]:
    """Train the entries of ``batch`` as one stacked model and score each; a batch of one is
    :func:`disbench.suites.entry.run_entry`."""
    from disbench.suites.entry import SuiteRunResult, run_entry, score_entry, use_threads
    from disbench.training.stacked_runs import train_many

    if len(batch) == 1:
        return [run_entry(suite, batch[0], runs_dir, leaderboard, device, overwrite, threads, progress)]
    use_threads(threads)
    specs = [suite.spec(entry) for entry in batch]
    trained = train_many(specs, runs_dir, device, overwrite, progress, labels=[entry.label for entry in batch])
    results, failures = [], []
    for entry, spec, result in zip(batch, specs, trained):
        if result.status == "failed":
            failures.append(f"{spec.run_id}: {result.error}")
            results.append(SuiteRunResult(spec.run_id, "failed", 0))
        else:
            results.append(score_entry(suite, entry, result.run_dir, result.status, leaderboard, device, overwrite, progress))
    if failures:
        raise DisbenchError(f"{len(failures)} of {len(batch)} stacked runs failed ({'; '.join(failures)}); "
                            "the others are trained and scored.")
    return results


def run_batch_at(suite: Any, indices: Sequence[int], *args: Any) -> list[Any]:
    """:func:`run_batch` of the entries at ``indices`` (an array task's share of a suite)."""
    return run_batch(suite, [suite.entry(i) for i in indices], *args)
