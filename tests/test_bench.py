"""Suites: the quick suite covers the registry; entries may override datasets, seeds and metrics."""

from __future__ import annotations

import pytest

from disbench.suites import load_suite
from disbench.errors import UsageError
from disbench.methods import METHODS


def test_quick_suite_covers_every_registered_method():
    suite = load_suite("quick")
    assert {run.method for run in suite.runs} == set(METHODS)
    assert all(len([r for r in suite.runs if r.method == m]) == 2 for m in METHODS)  # two seeds each
    for run in suite.runs:
        applies_to = METHODS.get(run.method).applies_to
        assert applies_to is None or run.dataset in applies_to, run


def test_entry_overrides(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "seeds: [0, 1, 2]\nmetrics: [mig]\nmethods:\n"
        "  pca: {seeds: [5]}\n  geomancer: {datasets: [product-manifold], metrics: [subspace-angle]}\n"
    )
    suite = load_suite(str(path))
    assert [(r.method, r.seed) for r in suite.runs][:1] == [("pca", 5)]
    assert suite.runs[0].metrics == ("mig",) and suite.runs[1].metrics == ("subspace-angle",)
    assert len(suite.runs) == 4


def test_suite_without_methods_is_refused(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("name: empty\n")
    with pytest.raises(UsageError, match="lists no methods"):
        load_suite(str(path))


GRID_SUITE = """\
name: grid
seeds: {range: [0, 3]}
datasets: [synthetic]
metrics: [mig]
eval: {n_eval: 300, set: {mig.num_bins: 7}}
methods:
  beta-vae:
    steps: 5
    set: {batch_size: 8}
    grid: {beta: [1, 4], lr: [0.001, 0.0001]}
    label: "beta={beta} lr={lr}"
  pca:
    seeds: [9]
    grid: [{num_fit: 200}, {num_fit: 300}]
    label: "fit={num_fit}"
    eval: {set: {mig.num_bins: 5}}
"""


def test_grid_expands_lazily_and_in_order(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(GRID_SUITE)
    suite = load_suite(str(path))
    assert len(suite) == 2 * 2 * 3 + 2
    entries = list(suite.entries())
    assert [suite.entry(i) for i in range(len(suite))] == entries
    assert [(e.overrides["beta"], e.overrides["lr"], e.seed) for e in entries[:4]] == [
        (1, 0.001, 0), (1, 0.001, 1), (1, 0.001, 2), (1, 0.0001, 0)
    ]  # fmt: skip
    assert entries[0].overrides == {"batch_size": 8, "beta": 1, "lr": 0.001}
    assert entries[0].label == "beta=1 lr=0.001" and entries[-1].label == "fit=300"
    assert entries[0].metric_options == {"mig.num_bins": 7} and entries[-1].metric_options == {"mig.num_bins": 5}
    assert len({suite.spec(e).run_id for e in entries}) == len(entries)
    with pytest.raises(UsageError, match="--index must be between 0 and 13"):
        suite.entry(14)


@pytest.mark.parametrize(
    "entry, message",
    [
        ("{grid: {beta: 4}}", "grid key 'beta' needs a non-empty list"),
        ("{grid: {beta: [1, 2]}, label: same}", "would pool them"),
        ("{grid: {beta: [1, 2]}, label: 'b={gamma}'}", "names 'gamma'"),
        ("{seeds: {range: [0]}}", "seeds takes a list or {range: [START, STOP]}"),
        ("{eval: {set: {num_bins: 3}}}", "METRIC.OPTION"),
        ("{eval: {n_evals: 3}}", "unknown key 'n_evals'"),
    ],
)
def test_malformed_entries_are_usage_errors(tmp_path, entry, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nmethods:\n  beta-vae: {entry}\n")
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("{", r"\{")):
        load_suite(str(path))


def test_methods_from_presets_takes_each_presets_section_in_registry_order(tmp_path):
    from disbench.presets import preset_entry

    path = tmp_path / "tiny.yaml"
    path.write_text("name: tiny\nseeds: [3]\nmetrics: [mig]\nmethods_from_presets: tiny\n")
    runs = load_suite(str(path)).runs
    assert [r.method for r in runs] == list(METHODS)
    factor_vae = next(r for r in runs if r.method == "factor-vae")
    assert factor_vae.steps == 5 and factor_vae.seed == 3
    assert factor_vae.overrides == preset_entry("factor-vae", "tiny")["hyperparameters"] == {
        "batch_size": 16, "hidden": 32, "discriminator_hidden": 32}
    assert next(r for r in runs if r.method == "pretrained").dataset == "dsprites"
    assert next(r for r in runs if r.method == "pca").metrics == ("mig",)


@pytest.mark.parametrize(
    "text, message",
    [
        ("methods_from_presets: quick\nmethods: [pca]\n", "give methods or methods_from_presets, not both"),
        ("methods_from_presets: quik\n", "methods_from_presets names a preset section: one of quick, tiny, got 'quik'"),
    ],
)
def test_malformed_methods_from_presets_is_a_usage_error(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\n" + text)
    with pytest.raises(UsageError, match=message):
        load_suite(str(path))


def test_study_lists_without_building_anything(monkeypatch):
    """12,600 entries (dlib's seven datasets), one configuration resolved per grid point, nothing built."""
    import disbench.training.runs as runs

    def refuse(*args, **kwargs):
        raise AssertionError("listing must not build datasets or methods")

    monkeypatch.setattr(runs, "build_dataset", refuse)
    monkeypatch.setattr(runs, "build_method", refuse)
    resolved = []
    original = runs.resolve_run_spec
    monkeypatch.setattr(runs, "resolve_run_spec", lambda *a, **k: resolved.append(a) or original(*a, **k))
    suite = load_suite("dlib-unsupervised-study")
    run_ids = [suite.spec(entry).run_id for entry in suite.entries()]
    assert len(run_ids) == len(set(run_ids)) == 6 * 6 * 50 * 7 == 12_600
    assert len(resolved) == 6 * 6 * 7  # per (method, value, dataset): seeds only change the seed
    first = suite.entry(0)
    assert (first.method, first.dataset, first.seed, first.label) == ("beta-vae", "dsprites", 0, "beta=1")
    assert suite.spec(first).steps == 300_000 and suite.spec(first).method_config["beta"] == 1.0
    dip_ii = [e for e in suite.entries() if e.method == "dip-vae-ii"]
    assert sorted({e.overrides["lambda_od"] for e in dip_ii}) == [1, 2, 5, 10, 20, 50]
    assert set(first.metrics) >= {"beta-vae", "factor-vae", "mig", "dci", "modularity", "sap"}
    # dlib's sweep.py order: dsprites_full, color_dsprites, noisy_dsprites, scream_dsprites, smallnorb, cars3d, shapes3d
    assert [suite.entry(i * 300).dataset for i in range(7)] == [
        "dsprites", "color-dsprites-tint", "noisy-dsprites", "scream-dsprites", "smallnorb", "cars3d", "shapes3d"
    ]


def test_listing_the_study_never_imports_torch():
    """Resolving 12,600 run configurations must not pay for torch's import (seconds)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from disbench.suites import load_suite\n"
        "suite = load_suite('dlib-unsupervised-study')\n"
        "ids = {suite.spec(entry).run_id for entry in suite.entries()}\n"
        "assert len(ids) == 12600, len(ids)\n"
        "print(sorted(name for name in sys.modules if name == 'torch' or name.startswith('torch.')))\n"
    )
    import os
    from pathlib import Path

    repository = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repository, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert result.stdout.strip() == "[]"


def test_mpi3d_suite_is_the_studys_grid_on_the_three_mpi3d_datasets():
    study, mpi = load_suite("dlib-unsupervised-study"), load_suite("mpi3d")
    assert len(mpi) == 6 * 6 * 50 * 3 == 5400
    assert [b.method for b in mpi.blocks] == [b.method for b in study.blocks]
    assert [b.points for b in mpi.blocks] == [b.points for b in study.blocks]
    assert all(b.datasets == ("mpi3d-toy", "mpi3d-realistic", "mpi3d-real") for b in mpi.blocks)
    assert mpi.spec(mpi.entry(0)).steps == 300_000 and mpi.slurm.gpus_per_task == 1


def test_entry_labels_and_metric_options_reach_the_run_and_leaderboard(tmp_path, cli):
    (tmp_path / "s.yaml").write_text(
        "name: s\nmetrics: [mig]\neval: {n_eval: 300, set: {mig.num_bins: 7}}\n"
        "methods:\n  pca: {grid: {num_fit: [200, 300]}, label: 'fit={num_fit}', eval: {set: {mig.num_bins: 5}}}\n"
    )
    result = cli("bench", "--suite", "s.yaml", "--index", "1", "-q", "--format", "csv")
    assert result.exit_code == 0, result.output
    import csv
    import json

    import yaml

    suite = load_suite("s.yaml")
    run_dir = tmp_path / "runs" / suite.spec(suite.entry(1)).run_id
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["label"] == "fit=300"
    with open(tmp_path / "results" / "leaderboard.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {r["run_id"] for r in rows} == {run_dir.name}
    assert {json.loads(r["metric_options"])["num_bins"] for r in rows} == {5}  # the entry's over the suite's


@pytest.mark.slow
def test_cpu_study_entry_runs_with_its_metric_options_and_label(tmp_path, cli):
    listing = cli("bench", "--suite", "dlib-unsupervised-study-cpu", "--list")
    lines = listing.stdout.strip().splitlines()
    assert len(lines) == 72 and lines[0].split("\t")[2] == "beta=1"
    suite = load_suite("dlib-unsupervised-study-cpu")
    entry = suite.entry(0)
    result = cli("bench", "--suite", "dlib-unsupervised-study-cpu", "--index", "0", "--device", "cpu", "-q", "--format", "csv")
    assert result.exit_code == 0, result.output
    import csv
    import json

    import yaml

    run_dir = tmp_path / "runs" / suite.spec(entry).run_id
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["label"] == "beta=1"
    with open(tmp_path / "results" / "leaderboard.csv") as handle:
        rows = list(csv.DictReader(handle))
    beta_rows = [r for r in rows if r["metric"].startswith("beta-vae")]
    assert beta_rows and json.loads(beta_rows[0]["metric_options"])["num_train"] == 300
    assert {r["run_id"] for r in rows} == {run_dir.name}


def test_suite_metric_options_reach_only_entries_computing_that_metric(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "seeds: [0]\nmetrics: [mig, r2]\neval: {set: {r2.kernel_max_samples: 200}}\nmethods:\n"
        "  pca: {}\n  geomancer: {datasets: [product-manifold], metrics: [subspace-angle]}\n"
    )
    suite = load_suite(str(path))
    options = {suite.spec(entry).method: entry.metric_options for entry in suite.entries()}
    assert options == {"pca": {"r2.kernel_max_samples": 200}, "geomancer": {}}


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    from pathlib import Path

    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _start_long_suite(tmp_path):
    """``bench --jobs 2`` of two long beta-VAE runs, once both workers are training: ``(process, runs folder, worker pids)``."""
    import subprocess
    import sys
    import time

    (tmp_path / "long.yaml").write_text(
        "name: long\nseeds: [0, 1]\ndatasets: [synthetic]\nmetrics: [mig]\n"
        "methods:\n  beta-vae: {steps: 1000000, set: {checkpoint_every: 1000000}}\n"
    )
    runs = tmp_path / "runs"
    suite = subprocess.Popen(
        [sys.executable, "-m", "disbench", "bench", "--suite", str(tmp_path / "long.yaml"), "--jobs", "2",
         "--runs-dir", str(runs), "--leaderboard", str(tmp_path / "board.csv"), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )

    def training() -> int:
        return sum('"running"' in path.read_text() for path in runs.glob("*/status.json"))

    deadline = time.time() + 240
    while time.time() < deadline and training() < 2:
        time.sleep(0.5)
    if training() < 2:
        suite.kill()
        pytest.fail("the workers did not start training")
    return suite, runs, _children(suite.pid)


def _wait_gone(pids: list[int], seconds: float = 60) -> bool:
    import os
    import time

    deadline = time.time() + seconds
    while time.time() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in pids):
        time.sleep(0.2)
    return not any(os.path.exists(f"/proc/{pid}") for pid in pids)


def test_sigterm_to_a_parallel_suite_stops_its_workers_and_keeps_the_runs_resumable(tmp_path):
    # `kill PID` reaches the suite's process alone; its worker processes must not go on
    # training (seen before: they finished their entries after the suite was gone)
    import json
    import signal

    suite, runs, workers = _start_long_suite(tmp_path)
    try:
        assert workers
        suite.send_signal(signal.SIGTERM)
        _, stderr = suite.communicate(timeout=120)
    finally:
        if suite.poll() is None:
            suite.kill()
    assert suite.returncode == 130, stderr
    assert _wait_gone(workers), "a worker outlived the suite"
    states = [json.loads(path.read_text())["state"] for path in runs.glob("*/status.json")]
    assert states == ["interrupted", "interrupted"]  # `bench` again resumes them


def test_workers_stop_when_the_suite_process_is_killed(tmp_path):
    # SIGKILL cannot be handled by the suite; its workers are told by the kernel instead
    import signal

    suite, _, workers = _start_long_suite(tmp_path)
    suite.send_signal(signal.SIGKILL)
    suite.wait()
    assert workers and _wait_gone(workers), "a worker outlived the killed suite"


# --- what an entry costs, from the seconds committed runs recorded ------------------------------


def _timed_rows(run_id, method, train_seconds, budget, eval_seconds, n_eval, spaces=("latent",), config=None):
    import json as json_module

    hyper = json_module.dumps({"dataset_config": {}, "method_config": config or {}, "steps": budget}, sort_keys=True)
    return [
        {"run_id": run_id, "method": method, "dataset": "synthetic", "seed": 0, "space": space, "metric": metric,
         "factor": factor, "value": 0.5, "metric_options": "{}", "steps": budget, "n_eval": n_eval, "eval_seed": 0,
         "train_seconds": train_seconds, "eval_seconds": eval_seconds, "hyperparameters": hyper}
        for space in spaces for metric, factor in (("mig", "all"), ("mig", "f0"))
    ]


def test_costs_come_from_the_fastest_committed_run_per_step_and_per_point(tmp_path):
    from disbench.suites import Cost, CostModel, duration_text
    from disbench.store import RunSpec, write_rows

    path = tmp_path / "timings.csv"
    write_rows(path, _timed_rows("fast", "beta-vae", 10.0, 100, 1.0, 1000, spaces=("latent", "joint"))
               + _timed_rows("busy", "beta-vae", 200.0, 100, 50.0, 1000)  # beside other jobs: slower, not more work
               + _timed_rows("pca0", "pca", 3.0, 0, 0.5, 500))
    model = CostModel.from_leaderboards([path])
    spec = RunSpec("beta-vae", "synthetic", 1, 300)
    # 0.1 s a step x 300 steps, and mig's 2 x 1 s on 1,000 points (two spaces) at 500 points
    assert model.estimate(spec, ["mig"], 500) == Cost(pytest.approx(30.0 + 1.0), True)
    assert model.estimate(spec, ["all"], 500) == Cost(pytest.approx(31.0), True)
    assert model.estimate(RunSpec("pca", "synthetic", 0, 0), ["mig"], 1000) == Cost(pytest.approx(3.0 + 1.0))  # no steps: flat
    assert model.estimate(spec, ["mig", "sap"], 500) == Cost(pytest.approx(31.0), complete=False)  # sap never timed
    assert model.estimate(RunSpec("ica", "synthetic", 0, 0), ["mig"], 500) is None
    assert [duration_text(s) for s in (None, 31.2, 190, 7500, Cost(31.0, False))] == ["?", "~31s", "~3m10s", "~2h05m", "~31s+"]


def test_bench_list_shows_each_entrys_estimated_cost(cli, tmp_path, monkeypatch):
    import disbench.suites.cost as cost
    from disbench.store import write_rows

    (tmp_path / "committed").mkdir()
    write_rows(tmp_path / "committed" / "lb.csv", _timed_rows("r", "beta-vae", 10.0, 100, 1.0, 1000))
    (tmp_path / "committed" / "table.csv").write_text("space,value\ncontent,1\n")  # not a leaderboard: ignored
    monkeypatch.setattr(cost, "TIMINGS_FOLDER", tmp_path / "committed")
    (tmp_path / "tiny.yaml").write_text(
        "name: tiny\nseeds: [0, 1]\nmetrics: [mig]\neval: {n_eval: 1000}\nmethods:\n  beta-vae: {steps: 300}\n  pca: {}\n"
    )
    listing = cli("bench", "--suite", "tiny.yaml", "--list")
    assert listing.exit_code == 0, listing.output
    assert [line.split("\t")[3] for line in listing.stdout.splitlines()] == ["~31s", "~31s", "?", "?"]
    assert "estimated cost: ~1m02s for 2 of 4 entries" in listing.stderr and "2 entries have no such run" in listing.stderr


def test_the_quick_suite_is_a_quick_tour_and_quick_full_keeps_the_longer_protocol():
    from disbench.suites import cost_model, listing_costs

    model = cost_model()  # the committed runs' recorded seconds
    quick, full = load_suite("quick"), load_suite("quick-full")
    quick_costs, full_costs = listing_costs(quick, quick.runs, model), listing_costs(full, full.runs, model)
    assert all(c is not None and c.complete for c in quick_costs + full_costs)
    assert sum(c.seconds for c in quick_costs) < 10 * 60  # a few minutes on 2 cores
    assert sum(c.seconds for c in full_costs) > 25 * 60  # what the committed quick-full run recorded (about 30)
    assert {(r.method, r.dataset, r.seed) for r in quick.runs} == {(r.method, r.dataset, r.seed) for r in full.runs}
