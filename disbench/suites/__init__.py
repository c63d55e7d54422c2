"""Suites: an ordered grid of (method, dataset, hyperparameters, seed) runs, trained, scored, reported.

``suite_file`` reads a suite file into a :class:`Suite` (``suite``: its method blocks and the
entries they make, computed on demand); ``entry`` runs one entry and reads where it stands;
the executors run a list of entry indices: ``local`` in this process or on worker processes,
``slurm`` as one submitit array job on Slurm or, with ``cluster="local"``, as subprocesses of
this machine (the same code path, used by the tests); ``cost`` estimates what each entry costs
from the seconds committed runs recorded.
"""

from disbench.suites.cost import Cost, CostModel, cost_model, duration_text, listing_costs
from disbench.suites.entry import (
    RESUBMIT_STATES, SCORED, STATES, EntryStatus, SuiteRunResult, entry_status, pending_indices, run_entry, scoring_key,
    suite_status,
)  # fmt: skip
from disbench.suites.local import LocalExecutor, run_suite
from disbench.suites.slurm import SubmititExecutor, Submission, import_submitit
from disbench.suites.slurm_settings import SlurmSettings, slurm_overrides
from disbench.suites.suite import Suite, SuiteEntry
from disbench.suites.suite_file import load_suite, suite_names, suite_path

__all__ = [
    "Cost", "CostModel", "EntryStatus", "LocalExecutor", "RESUBMIT_STATES", "SCORED", "STATES", "SlurmSettings",
    "SubmititExecutor", "Submission", "Suite", "SuiteEntry", "SuiteRunResult", "cost_model", "duration_text",
    "entry_status", "import_submitit", "listing_costs", "load_suite", "pending_indices", "run_entry", "run_suite",
    "scoring_key", "slurm_overrides", "suite_names", "suite_path", "suite_status",
]  # fmt: skip
