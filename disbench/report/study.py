"""Reading a study across runs: do the metrics agree, and how much of a score is method, hyperparameters, seed?

Both analyses take one value per run and metric: the aggregate score (``factor ==
"all"``) of the run's headline space at its latest checkpoint, the rows a report
table pools (:func:`disbench.report.rows.selected_rows`). Reference methods (oracle,
random) are bounds, not contenders, and are left out. Runs of different datasets
are not comparable, so each analysis takes one dataset.

- :func:`metric_correlations`: Spearman rank correlation between every pair of
  metrics across runs (Locatello et al. 2019, "Challenging Common Assumptions in the
  Unsupervised Learning of Disentangled Representations", Fig. 2).
- :func:`variance_shares`: a nested sum-of-squares decomposition of each metric's
  variance into method, configuration within method, and seed (Locatello et al.
  2019's finding that seeds and hyperparameters matter more than the objective).
"""

from __future__ import annotations

from dataclasses import dataclass

from disbench.errors import UsageError
from disbench.report.pooling import REFERENCE_METHODS
from disbench.report.rows import Selection, selected_rows


def _study_rows(selection: Selection):
    return study_rows(selected_rows(selection))


def study_rows(frame):
    """Report rows (:func:`disbench.report.rows.selected_rows`) without the reference methods, and their one dataset.

    Raises:
        UsageError: several datasets, or only reference runs.
    """
    frame = frame[~frame["method"].isin(REFERENCE_METHODS)]
    datasets = sorted(frame["dataset"].unique())
    if len(datasets) > 1:
        raise UsageError(
            f"scores of different datasets are not comparable; pass one --dataset (this leaderboard has {', '.join(datasets)})."
        )
    if frame.empty:
        raise UsageError("only reference runs (oracle, random) match; a study needs trained or scored methods.")
    return frame, datasets[0]


@dataclass
class Correlations:
    """Spearman's rho between metrics across runs; ``n_runs[a][b]``: runs scored by both."""

    dataset: str
    metrics: list[str]
    rho: "object"  # DataFrame metrics x metrics
    n_runs: "object"  # DataFrame metrics x metrics


def metric_correlations(selection: Selection) -> Correlations:
    """Spearman rank correlation of every pair of metrics over the runs scored by both.

    Raises:
        UsageError: several datasets, fewer than two metrics, or fewer than 3 runs.
    """
    return correlations_of_rows(*_study_rows(selection))


def correlations_of_rows(frame, dataset: str) -> Correlations:
    """:func:`metric_correlations` of rows already selected (:func:`study_rows`)."""
    per_run = frame.pivot_table(index="run_id", columns="column", values="value", aggfunc="last")
    metrics = sorted(per_run.columns)
    if len(metrics) < 2:
        raise UsageError(f"--correlations needs at least two metrics; the runs of {dataset!r} have {', '.join(metrics)}.")
    if len(per_run) < 3:
        raise UsageError(f"--correlations needs at least 3 runs of {dataset!r}; found {len(per_run)}.")
    per_run = per_run[metrics]
    scored = per_run.notna().astype(int)
    return Correlations(dataset, metrics, per_run.corr(method="spearman", min_periods=3), scored.T @ scored)


@dataclass
class VarianceShare:
    """One metric's sums of squares around the grand mean, split by the nesting method > configuration > seed."""

    metric: str
    n_runs: int
    n_methods: int
    n_configurations: int
    total: float
    method: float
    configuration: float
    seed: float

    def share(self, part: float) -> float:
        return part / self.total if self.total > 0 else float("nan")


def variance_shares(selection: Selection) -> list[VarianceShare]:
    """Each metric's total sum of squares split into between-method, between-configuration-within-method
    and within-configuration (seed) parts, which add up to the total:

        SS_total  = sum_i (y_i - mean)^2
        SS_method = sum_m n_m (mean_m - mean)^2
        SS_config = sum_c n_c (mean_c - mean_m(c))^2
        SS_seed   = sum_i (y_i - mean_c(i))^2

    over runs i, methods m, configurations c (report entries: a label or a set of
    hyperparameters) with n_m, n_c runs.

    Raises:
        UsageError: several datasets in the selection.
    """
    return variance_shares_of_rows(_study_rows(selection)[0])


def variance_shares_of_rows(frame) -> list[VarianceShare]:
    """:func:`variance_shares` of rows already selected (:func:`study_rows`)."""
    shares = []
    for metric, rows in frame.groupby("column", sort=True):
        values = rows["value"].astype(float)
        grand = values.mean()
        method_mean = rows.groupby("method")["value"].transform("mean")
        config_mean = rows.groupby("entry")["value"].transform("mean")
        shares.append(
            VarianceShare(
                metric=str(metric),
                n_runs=len(rows),
                n_methods=rows["method"].nunique(),
                n_configurations=rows["entry"].nunique(),
                total=float(((values - grand) ** 2).sum()),
                method=float(((method_mean - grand) ** 2).sum()),
                configuration=float(((config_mean - method_mean) ** 2).sum()),
                seed=float(((values - config_mean) ** 2).sum()),
            )
        )
    return shares


def correlation_rows(result: Correlations) -> tuple[list[str], list[list[str]], list[dict]]:
    """Headers, text rows (a matrix) and long records (one per metric pair) of a correlation table."""
    headers = ["metric", *result.metrics]
    rows = [[a, *(_number(result.rho.loc[a, b], "+.2f") for b in result.metrics)] for a in result.metrics]
    records = [
        {"dataset": result.dataset, "metric_a": a, "metric_b": b, "spearman": _plain(result.rho.loc[a, b]), "n_runs": int(result.n_runs.loc[a, b])}
        for a in result.metrics
        for b in result.metrics
    ]
    return headers, rows, records


def variance_rows(shares: list[VarianceShare]) -> tuple[list[str], list[list[str]], list[dict]]:
    headers = ["metric", "runs", "methods", "configurations", "method", "hyperparameters", "seed"]
    rows = [
        [s.metric, str(s.n_runs), str(s.n_methods), str(s.n_configurations),
         *(_number(s.share(part), ".0%") for part in (s.method, s.configuration, s.seed))]
        for s in shares
    ]
    records = [
        {"metric": s.metric, "n_runs": s.n_runs, "n_methods": s.n_methods, "n_configurations": s.n_configurations,
         "method": _plain(s.share(s.method)), "hyperparameters": _plain(s.share(s.configuration)), "seed": _plain(s.share(s.seed)),
         "total_sum_of_squares": s.total}
        for s in shares
    ]
    return headers, rows, records


def _number(value: float, spec: str) -> str:
    return "–" if value != value else format(value, spec)


def _plain(value: float) -> float | None:
    """JSON has no NaN: a missing correlation or share is ``null``."""
    return None if value != value else float(value)
