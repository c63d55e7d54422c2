"""Suites trained stacked (``stack: N``, ``bench --stack N``): batches, equality with single entries, scoring, failures."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest
import yaml

from disbench.errors import DisbenchError
from disbench.store import read_status
from disbench.suites import SubmititExecutor, load_suite, run_suite, suite_status
from disbench.suites.stacked import stacked_batches
from disbench.training import LOG
from disbench.training import stacked_runs

# 4 stackable beta-VAE entries (2 betas x 2 seeds) and 2 pca entries, which cannot stack
SUITE = """\
name: stacked
datasets: [synthetic]
metrics: [mig]
eval: {n_eval: 400}
slurm: {time: 10, cpus_per_task: 1}
{stack}
methods:
  beta-vae:
    seeds: [0, 1]
    steps: 12
    set: {batch_size: 8, hidden: 16, checkpoint_every: 6}
    grid: {beta: [1, 2]}
    label: "beta={beta}"
  pca: {seeds: [0, 1], set: {num_fit: 300}}
"""


def write_suite(tmp_path, stack_line="", name="stacked.yaml"):
    path = tmp_path / name
    path.write_text(SUITE.replace("{stack}", stack_line))
    return path


def losses(run_dir):
    return np.array([[v for k, v in row.items() if k not in ("step", "lr")] for row in map(json.loads, open(run_dir / LOG))])


def board_run_ids(path):
    with open(path) as handle:
        return {row["run_id"] for row in csv.DictReader(handle)}


@pytest.fixture
def stacks(monkeypatch):
    """The member count of every stack trained."""
    sizes: list[int] = []
    original = stacked_runs.train_stack

    def counting(runs, progress):
        sizes.append(len(runs))
        return original(runs, progress)

    monkeypatch.setattr(stacked_runs, "train_stack", counting)
    return sizes


def test_batches_group_stackable_entries_in_chunks_and_leave_the_others_alone(tmp_path):
    suite = load_suite(str(write_suite(tmp_path)))
    entries = suite.runs
    batches = stacked_batches(suite, entries, 3)
    assert [[e.index for e in batch] for batch in batches] == [[0, 1, 2], [3], [4], [5]]
    assert [[e.index for e in batch] for batch in stacked_batches(suite, entries, 1)] == [[i] for i in range(6)]
    # the same entries with other steps: another stack
    other = [replace(entry, index=6 + entry.index, steps=13) for entry in entries[:2]]
    mixed = stacked_batches(suite, entries[:4] + other, 8)
    assert [[e.index for e in batch] for batch in mixed] == [[0, 1, 2, 3], [6, 7]]


def test_a_stacked_suite_trains_its_entries_together_and_scores_each_as_a_single_entry(tmp_path, cli, stacks):
    write_suite(tmp_path, "stack: 4")
    result = cli("bench", "--suite", "stacked.yaml", "--device", "cpu", "-q", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert stacks == [4]  # the beta-VAE entries as one model; pca alone
    suite = load_suite("stacked.yaml")
    assert suite.stack == 4
    statuses = suite_status(suite, tmp_path / "runs")
    assert [s.state for s in statuses] == ["finished"] * 6
    assert board_run_ids(tmp_path / "results" / "leaderboard.csv") == {s.run_id for s in statuses}
    first = tmp_path / "runs" / statuses[2].run_id
    assert yaml.safe_load((first / "config.yaml").read_text())["label"] == "beta=2"
    # each member equals the entry trained alone (stack 1, another runs folder)
    suite.stack = 1
    run_suite(suite, tmp_path / "single", tmp_path / "single.csv", "cpu", indices=[0, 1, 2, 3])
    assert stacks == [4]
    for status in statuses[:4]:
        np.testing.assert_allclose(losses(tmp_path / "runs" / status.run_id), losses(tmp_path / "single" / status.run_id),
                                   rtol=1e-4)


def test_bench_stack_option_overrides_the_suite_and_bad_sizes_are_usage_errors(tmp_path, cli, stacks):
    write_suite(tmp_path, "stack: 4")
    result = cli("bench", "--suite", "stacked.yaml", "--stack", "2", "--index", "0", "--index", "1", "--index", "2",
                 "--device", "cpu", "-q", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert stacks == [2]  # entries 0 and 1 together; entry 2 alone, as a single run
    suite = load_suite("stacked.yaml")
    assert read_status(tmp_path / "runs" / suite.spec(suite.entry(2)).run_id)["state"] == "finished"
    for bad in ("0", "two", "true"):
        write_suite(tmp_path, f"stack: {bad}", name="bad.yaml")
        refused = cli("bench", "--suite", "bad.yaml", "--list")
        assert refused.exit_code == 2
        assert "stack must be a whole number of runs trained together, at least 1" in refused.output
    assert cli("bench", "--suite", "stacked.yaml", "--stack", "0").exit_code == 2


def test_a_member_that_turns_nan_fails_alone_and_the_others_are_scored(tmp_path, monkeypatch):
    from tests.test_stacking import poison_seed

    suite = load_suite(str(write_suite(tmp_path, "stack: 4")))
    poison_seed(monkeypatch, 1, from_step=3)
    with pytest.raises(DisbenchError, match=r"2 of 4 stacked runs failed \(beta-vae_synthetic_s1_.*loss became nan"):
        run_suite(suite, tmp_path / "runs", tmp_path / "board.csv", "cpu", indices=[0, 1, 2, 3])
    states = [s.state for s in suite_status(suite, tmp_path / "runs", [0, 1, 2, 3])]
    assert states == ["finished", "failed", "finished", "failed"]
    assert board_run_ids(tmp_path / "board.csv") == {suite.spec(suite.entry(i)).run_id for i in (0, 2)}


def test_submitit_runs_one_array_task_per_stacked_batch(tmp_path):
    suite = load_suite(str(write_suite(tmp_path, "stack: 2")))
    runs, board = tmp_path / "runs", tmp_path / "board.csv"
    submission = SubmititExecutor("local", tmp_path / "jobs", suite.slurm).submit(suite, [0, 1, 4], runs, board, "cpu")
    assert submission.indices == [0, 1, 4] and submission.batches == [[0, 1], [4]]
    assert submission.wait() == []
    assert [s.state for s in suite_status(suite, runs)] == ["finished", "finished", "missing", "missing", "finished", "missing"]
    assert len(board_run_ids(board)) == 3
