"""Suites on a cluster: submitit's real code path (its local executor runs each task as a
subprocess), entry states, resubmission of killed tasks, and the Slurm settings' way to sbatch."""

from __future__ import annotations

import csv
import os
import signal
import stat
import time
from collections import Counter
from pathlib import Path

from disbench.suites import SubmititExecutor, load_suite, pending_indices, suite_status
from disbench.store import read_status, run_dir_for

# a 4-entry suite: two instant fits, a short VAE, and a VAE long enough to be killed mid-run
SUITE = """\
name: four
datasets: [synthetic]
metrics: [mig]
eval: {n_eval: 400}
slurm: {time: 10, cpus_per_task: 1, array_parallelism: 3}
methods:
  pca: {seeds: [0, 1], set: {num_fit: 300}}
  beta-vae:
    seeds: [0]
    steps: 20
    set: {batch_size: 16}
  annealed-vae:
    seeds: [0]
    steps: 150
    set: {batch_size: 16, checkpoint_every: 5, iteration_threshold: 100}
"""


def leaderboard_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_submitit_local_suite_completes_and_a_killed_task_resumes(tmp_path):
    (tmp_path / "four.yaml").write_text(SUITE)
    suite = load_suite(str(tmp_path / "four.yaml"))
    runs, board = tmp_path / "runs", tmp_path / "board.csv"
    assert [s.state for s in suite_status(suite, runs)] == ["missing"] * 4
    executor = SubmititExecutor("local", tmp_path / "jobs", suite.slurm)

    submission = executor.submit(suite, pending_indices(suite_status(suite, runs)), runs, board, "cpu")
    assert submission.indices == [0, 1, 2, 3]
    # locally, array_parallelism runs in waves: the first three ended before the fourth was submitted
    assert [s.state for s in suite_status(suite, runs, [0, 1, 2])] == ["finished"] * 3
    long_run = run_dir_for(runs, suite.spec(suite.entry(3)))
    wait_for(lambda: (long_run / "checkpoint.pt").is_file(), 300, "the long run's first checkpoint")
    holder = read_status(long_run)
    assert holder["state"] == "running" and holder["job_id"].startswith("local:")
    os.kill(holder["pid"], signal.SIGKILL)  # no handler runs: status.json still says running
    failures = submission.wait()
    assert [index for index, _ in failures] == [3]

    states = {s.index: s for s in suite_status(suite, runs)}
    assert [states[i].state for i in range(4)] == ["finished", "finished", "finished", "interrupted"]
    assert states[3].job_id == holder["job_id"]
    rows_before = leaderboard_rows(board)
    assert {r["run_id"] for r in rows_before} == {suite.spec(suite.entry(i)).run_id for i in range(3)}

    # the rerun submits only the killed entry, which resumes from its checkpoint
    rerun = executor.submit(suite, pending_indices(list(states.values())), runs, board, "cpu")
    assert rerun.indices == [3]
    assert rerun.wait() == []
    assert [result.train_status for result in rerun.jobs[0].result()] == ["resumed"]  # each task: its batch's results
    assert [s.state for s in suite_status(suite, runs)] == ["finished"] * 4
    assert pending_indices(suite_status(suite, runs)) == []

    rows = leaderboard_rows(board)
    keys = Counter((r["run_id"], r["space"], r["metric"], r["factor"]) for r in rows)
    assert max(keys.values()) == 1, "a score was appended twice"
    per_run = Counter(r["run_id"] for r in rows)
    assert len(per_run) == 4 and len(set(per_run.values())) == 1  # same metric, same factors: same row count
    assert rows[: len(rows_before)] == rows_before


def fake_slurm(tmp_path: Path, monkeypatch) -> Path:
    """srun and sbatch stand-ins: sbatch records its script and answers like Slurm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "sbatch-calls.txt"
    scripts = {
        "srun": "#!/bin/sh\nexit 0\n",
        "sbatch": f'#!/bin/sh\nfor last; do :; done\ncat "$last" >> {record}\necho "Submitted batch job 4242"\n',
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return record


def test_slurm_settings_from_yaml_and_cli_reach_sbatch(tmp_path, monkeypatch, cli):
    record = fake_slurm(tmp_path, monkeypatch)
    (tmp_path / "s.yaml").write_text(
        "name: s\nmetrics: [mig]\nseeds: [0, 1, 2]\nmethods: {pca: {}}\n"
        "slurm: {partition: gpu, time: 90, cpus_per_task: 3, gpus_per_task: 1, mem_gb: 8, "
        "array_parallelism: 2, account: proj, sbatch: {constraint: a100}, setup: ['module load cuda']}\n"
    )
    import submitit

    seen: list[dict] = []
    original = submitit.AutoExecutor.update_parameters

    def spy(self, **kwargs):
        seen.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(submitit.AutoExecutor, "update_parameters", spy)
    result = cli(
        "bench", "--suite", "s.yaml", "--executor", "slurm", "--no-wait",
        "--slurm", "partition=debug", "--slurm", "time=30", "--slurm", "sbatch.qos=high",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "4242"
    assert seen == [
        {
            "name": "disbench-s", "timeout_min": 30, "cpus_per_task": 3, "gpus_per_node": 1, "tasks_per_node": 1,
            "nodes": 1, "slurm_array_parallelism": 2, "mem_gb": 8.0, "slurm_partition": "debug",
            "slurm_account": "proj", "slurm_setup": ["module load cuda"],
            "slurm_additional_parameters": {"constraint": "a100", "qos": "high"},
        }
    ]  # fmt: skip
    script = record.read_text()
    for line in ("--partition=debug", "--time=30", "--cpus-per-task=3", "--gpus-per-node=1", "--mem=8GB",
                 "--array=0-2%2", "--account=proj", "--constraint=a100", "--qos=high", "module load cuda"):  # fmt: skip
        assert line in script, line


def test_missing_submitit_extra_is_a_usage_error(tmp_path, monkeypatch, cli):
    import sys

    monkeypatch.setitem(sys.modules, "submitit", None)  # import submitit now raises ImportError
    (tmp_path / "s.yaml").write_text("name: s\nmethods: {pca: {}}\n")
    result = cli("bench", "--suite", "s.yaml", "--executor", "slurm")
    assert result.exit_code == 2
    assert "disbench[slurm]" in result.stderr


def test_status_reads_each_run_folder(tmp_path, cli):
    (tmp_path / "s.yaml").write_text("name: s\nmetrics: [mig]\neval: {n_eval: 300}\nseeds: [0, 1]\nmethods: {pca: {set: {num_fit: 200}}}\n")
    assert cli("bench", "--suite", "s.yaml", "--index", "1", "-q").exit_code == 0
    status = cli("bench", "--suite", "s.yaml", "--status")
    lines = [line.split("\t") for line in status.stdout.strip().splitlines()]
    assert [(line[0], line[2]) for line in lines] == [("0", "missing"), ("1", "finished")]
    assert "1 finished, 1 missing" in status.stderr
