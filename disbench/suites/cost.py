"""What a suite entry costs, estimated from the seconds committed runs recorded (``bench --list``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from disbench.store.canonical import canonical_json
from disbench.evaluation import EvalSettings
from disbench.suites.suite import Suite, SuiteEntry

#: committed leaderboards whose recorded seconds the cost estimates of ``--list`` come from
#: (a source checkout's ``results/``; an installed wheel has none, and estimates are unknown)
TIMINGS_FOLDER = Path(__file__).resolve().parents[2] / "results"


@dataclass
class CostModel:
    """Seconds an entry costs, estimated from the training and scoring times committed runs recorded.

    Each (method, dataset) is timed per training step and, per metric, per evaluation point
    (linear in ``n_eval``: an estimate, kernel ridge with a cap grows slower), from the runs of
    the same configuration when there are some, else (per metric too) of any configuration of
    that method and dataset. The fastest recorded run is used: runs that shared the machine with other jobs
    took longer, not the work.
    """

    #: key -> (seconds per training step, or flat seconds when the method has no steps; steps-aware)
    train: dict[tuple[str, ...], tuple[float, bool]] = field(default_factory=dict)
    #: key + (metric,) -> seconds per evaluation point
    evaluate: dict[tuple[str, ...], float] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)

    @classmethod
    def from_leaderboards(cls, paths: Sequence[Path]) -> "CostModel":
        import pandas as pd

        from disbench.errors import DisbenchError
        from disbench.store import read_leaderboard

        frames, sources = [], []
        for path in paths:
            try:
                frame = read_leaderboard(path)
            except DisbenchError:  # a CSV in results/ that is not a leaderboard (an R^2 table)
                continue
            frames.append(frame[frame["hyperparameters"].astype(str).str.startswith("{\"")])
            sources.append(path)
        model = cls(sources=sources)
        if not frames:
            return model
        rows = pd.concat(frames, ignore_index=True)
        budget = rows["hyperparameters"].map(lambda text: json.loads(text).get("steps", 0))
        rows = rows.assign(budget=budget, configuration=rows["hyperparameters"].map(_without_steps),
                           base=rows["metric"].str.split(".").str[0])
        for levels in (("method", "dataset"), ("method", "dataset", "configuration")):
            runs = rows.drop_duplicates("run_id")
            for key, group in runs.groupby(list(levels)):
                stepped = group[group["budget"] > 0]
                if len(stepped):
                    model.train[key] = (float((stepped["train_seconds"] / stepped["budget"]).min()), True)
                else:
                    model.train[key] = (float(group["train_seconds"].min()), False)
            # a metric's seconds are recorded on each of its rows of one space: once per space, summed
            per_space = rows.drop_duplicates(["run_id", "steps", "n_eval", "base", "space"])
            per_run = per_space.groupby(["run_id", "steps", "n_eval", "base", *levels])["eval_seconds"].sum().reset_index()
            per_run = per_run.assign(per_point=per_run["eval_seconds"] / per_run["n_eval"].clip(lower=1))
            for key, value in per_run.groupby([*levels, "base"])["per_point"].min().items():
                model.evaluate[key] = float(value)
        return model

    def estimate(self, spec: Any, metrics: Sequence[str], n_eval: int) -> "Cost | None":
        """Seconds to train and score ``spec`` on ``n_eval`` points (those of the metrics a committed
        run timed), or None when no committed run of its method and dataset says."""
        from disbench.store import hyperparameters_json

        key = next((k for k in ((spec.method, spec.dataset, _without_steps(hyperparameters_json(spec))), (spec.method, spec.dataset))
                    if k in self.train), None)
        if key is None:
            return None
        per_step, stepped = self.train[key]
        seconds = per_step * spec.steps if stepped else per_step
        # a metric the configuration's runs did not time is taken from the method's runs on the dataset
        timed = {k[-1]: v for k, v in self.evaluate.items() if k[:-1] == (spec.method, spec.dataset)}
        timed.update({k[-1]: v for k, v in self.evaluate.items() if k[:-1] == key})
        wanted = list(timed) if "all" in metrics else list(metrics)
        seconds += sum(timed[m] for m in wanted if m in timed) * n_eval
        return Cost(seconds, all(m in timed for m in wanted))


@dataclass(frozen=True)
class Cost:
    """An entry's estimated seconds; ``complete`` is False when some of its metrics were never timed (left out)."""

    seconds: float
    complete: bool = True


def _without_steps(hyperparameters: str) -> str:
    data = json.loads(hyperparameters)
    data.pop("steps", None)
    return canonical_json(data)


def cost_model() -> CostModel:
    """The cost model of the committed leaderboards under :data:`TIMINGS_FOLDER` (empty if none)."""
    paths = sorted(TIMINGS_FOLDER.glob("**/*.csv")) if TIMINGS_FOLDER.is_dir() else []
    return CostModel.from_leaderboards(paths)


def listing_costs(suite: Suite, entries: Sequence[SuiteEntry], model: CostModel | None = None) -> list[Cost | None]:
    """Estimated cost of each entry (:class:`CostModel`); one estimate per configuration, not per seed."""
    model = model or cost_model()
    cache: dict[str, Cost | None] = {}
    costs = []
    for entry in entries:
        key = canonical_json([entry.method, entry.dataset, entry.steps, entry.overrides, entry.metrics, entry.eval_settings])
        if key not in cache:
            n_eval = int(entry.eval_settings.get("n_eval", EvalSettings().n_eval))
            cache[key] = model.estimate(suite.spec(entry), entry.metrics, n_eval)
        costs.append(cache[key])
    return costs


def duration_text(cost: Cost | float | None) -> str:
    """``~45s``, ``~3m10s``, ``~2h05m``; ``?`` when unknown; a ``+`` when some metrics are left out."""
    if cost is None:
        return "?"
    if not isinstance(cost, Cost):
        cost = Cost(float(cost))
    seconds = int(round(cost.seconds))
    more = "" if cost.complete else "+"
    if seconds < 60:
        return f"~{seconds}s{more}"
    if seconds < 3600:
        return f"~{seconds // 60}m{seconds % 60:02d}s{more}"
    return f"~{seconds // 3600}h{seconds // 60 % 60:02d}m{more}"


