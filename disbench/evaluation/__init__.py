"""Score trained runs and codes files, and write the rows to a leaderboard.

One :class:`EvalRequest` says what to compute and where to write it
(:mod:`~disbench.evaluation.request`). Trained runs are scored checkpoint by checkpoint
(:mod:`~disbench.evaluation.runs`), reusing what their results.json already holds
(:mod:`~disbench.evaluation.results_cache`), then per configuration group for the run-group
metrics (:mod:`~disbench.evaluation.groups`); codes files go through
:mod:`~disbench.evaluation.codes`. Every metric runs in :mod:`~disbench.evaluation.scoring`.
"""

from disbench.evaluation.codes import CodesInput, check_codes_name, default_codes_name, evaluate_codes, score_codes
from disbench.evaluation.groups import configuration_groups, evaluate_run_groups
from disbench.evaluation.request import EvalOutcome, EvalRequest, EvalSettings, RunFailed, skip_summary
from disbench.evaluation.runs import evaluate_run, evaluate_runs

__all__ = [
    "CodesInput",
    "EvalOutcome",
    "EvalRequest",
    "EvalSettings",
    "RunFailed",
    "check_codes_name",
    "configuration_groups",
    "default_codes_name",
    "evaluate_codes",
    "evaluate_run",
    "evaluate_run_groups",
    "evaluate_runs",
    "score_codes",
    "skip_summary",
]
