"""Run labels, the run-folder lock, recorded paths, and user mistakes named as mistakes (issue 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from disbench.config import MAX_SEED
from disbench.training.runs import resolve_run_spec, train_run
from disbench.store import read_run_config, read_status

REPO = Path(__file__).resolve().parents[1]


def disbench(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """The installed command as a user runs it, in the test's folder, with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, "-m", "disbench", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# --- labels ------------------------------------------------------------------------------


def test_label_is_stored_in_config_and_not_hashed(tmp_path):
    spec = resolve_run_spec("pca", overrides={"num_fit": "300"})
    first = train_run(spec, "runs", "cpu", label="baseline")
    config = read_run_config(first.run_dir)
    assert config["label"] == "baseline" and config["run_id"] == spec.run_id
    checkpoint = first.run_dir / "checkpoint.pt"
    before = checkpoint.stat().st_mtime_ns

    second = train_run(spec, "runs", "cpu", label="pca-300")  # same numbers, new name: relabelled, not retrained
    assert second.status == "skipped" and second.run_dir == first.run_dir
    assert read_run_config(first.run_dir)["label"] == "pca-300"
    assert checkpoint.stat().st_mtime_ns == before

    third = train_run(spec, "runs", "cpu")  # no label given: the run keeps its label
    assert third.status == "skipped" and read_run_config(first.run_dir)["label"] == "pca-300"


def test_unlabelled_run_has_no_label_key(tmp_path):
    result = train_run(resolve_run_spec("pca", overrides={"num_fit": "300"}), "runs", "cpu")
    assert "label" not in read_run_config(result.run_dir)


def test_cli_name_and_tag_label_a_run(cli):
    result = cli("train", "-m", "pca", "--set", "num_fit=300", "--name", "first try", "--quiet")
    assert result.exit_code == 0, result.output
    run_dir = Path(result.stdout.strip())
    assert read_run_config(run_dir)["label"] == "first try"
    again = cli("train", "-m", "pca", "--set", "num_fit=300", "--tag", "renamed")
    assert again.exit_code == 0 and "skipped" in again.stderr
    assert read_run_config(run_dir)["label"] == "renamed"


@pytest.mark.parametrize("name", ["", "   ", "two\nlines", "tab\there", "bell\x07"])
def test_bad_labels_are_refused_before_anything_is_written(cli, name):
    result = cli("train", "-m", "pca", "--name", name)
    assert result.exit_code == 2, result.output
    assert "--name" in result.stderr and "bug in disbench" not in result.stderr
    assert not Path("runs").exists()


# --- one trainer per run folder -----------------------------------------------------------

HOLD_LOCK = """
import sys
from disbench.store import write_status
from disbench.store.jobs import current_holder
from disbench.store.run_lock import RunLock
with RunLock(sys.argv[1]):
    if sys.argv[2] == "records":  # as a trainer does once it holds the lock
        write_status(sys.argv[1], state="running", **current_holder())
    print("held", flush=True)
    sys.stdin.readline()
"""


def _hold_lock(run_dir: Path, records: bool = True) -> subprocess.Popen:
    """A process holding the run's lock; ``records``: it has written its status.json "running" as a trainer does."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir), "records" if records else "starts"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_train_on_a_locked_run_names_the_holder_and_exits_1(cli):
    run_dir = Path("runs") / resolve_run_spec("pca", overrides={"num_fit": "300"}).run_id
    holder = _hold_lock(run_dir)
    try:
        blocked = cli("train", "-m", "pca", "--set", "num_fit=300")
        assert blocked.exit_code == 1, blocked.output
        line = one_line(blocked.stderr)
        assert f"pid {holder.pid}" in line and "--wait" in line
        assert read_status(run_dir)["pid"] == holder.pid  # it did not start training: the holder's status stands

        waiting = subprocess.Popen(
            [sys.executable, "-m", "disbench", "train", "-m", "pca", "--set", "num_fit=300", "--wait"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        told = ""
        while "waiting for" not in told:  # the holder never lets go: the only way on is to say it waits
            line = waiting.stderr.readline()
            assert line, "the waiting train exited instead of waiting"
            told += line
        assert f"pid {holder.pid}" in told
        assert waiting.poll() is None
    finally:
        holder.communicate("\n", timeout=30)
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert ": trained" in err
    assert read_status(run_dir)["state"] == "finished"
    _assert_lock_free(run_dir)


def _assert_lock_free(run_dir: Path) -> None:
    from disbench.store.run_lock import RunLock

    with RunLock(run_dir):  # raises RunLocked if anyone still held it
        pass


def test_a_lock_holder_that_has_not_recorded_itself_is_named_as_starting(cli):
    run_dir = Path("runs") / resolve_run_spec("pca", overrides={"num_fit": "300"}).run_id
    holder = _hold_lock(run_dir, records=False)
    try:
        blocked = cli("train", "-m", "pca", "--set", "num_fit=300")
    finally:
        holder.communicate("\n", timeout=30)
    assert blocked.exit_code == 1, blocked.output
    assert "being trained by another process that is starting it" in one_line(blocked.stderr)
    assert read_status(run_dir)["state"] == "new"


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    run_dir = Path("runs") / resolve_run_spec("pca", overrides={"num_fit": "300"}).run_id
    holder = _hold_lock(run_dir)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert (run_dir / "train.lock").exists() and read_status(run_dir)["state"] == "running"  # killed mid-run
    result = train_run(resolve_run_spec("pca", overrides={"num_fit": "300"}), "runs", "cpu")
    assert result.status == "trained"
    assert read_status(run_dir)["state"] == "finished"
    _assert_lock_free(run_dir)


@pytest.mark.slow
def test_two_trainers_started_together_never_both_train(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "disbench", "train", "-m", "beta-vae", "--steps", "300", "--set", "batch_size=16"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    trained = [err for code, err in outcomes if code == 0 and ": trained" in err]
    assert len(trained) == 1, outcomes
    for code, err in outcomes:
        assert (code == 0) or (code == 1 and "is being trained by pid" in err), outcomes
    run_dir = next(Path("runs").iterdir())
    steps = [yaml.safe_load(line)["step"] for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))  # one writer: no step logged twice, no interleaving


# --- what a run records -------------------------------------------------------------------


def test_relative_path_options_are_recorded_absolute(tmp_path):
    (tmp_path / "imgs").mkdir()
    spec = resolve_run_spec("random", "imagefolder", overrides={"root": "imgs"})
    assert spec.dataset_config["root"] == str(tmp_path / "imgs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    assert resolve_run_spec("random", "imagefolder", overrides={"root": "imgs"}).run_id != spec.run_id
    home = resolve_run_spec("pca", "dsprites", overrides={"data_dir": "~/data"})
    assert home.dataset_config["data_dir"] == os.path.expanduser("~/data")


def test_a_failure_inside_training_never_leaves_the_run_running(monkeypatch):
    from disbench.methods import METHODS

    def broken(self, rng):
        raise RuntimeError("boom")

    monkeypatch.setattr(METHODS.get("pca"), "fit_arrays", broken)
    spec = resolve_run_spec("pca", overrides={"num_fit": "300"})
    with pytest.raises(RuntimeError):
        train_run(spec, "runs", "cpu")
    status = read_status(Path("runs") / spec.run_id)
    assert status["state"] == "failed" and "boom" in status["error"]


# --- user mistakes: one line, exit 2 or 1, never "a bug in disbench" -----------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "-m", "pca", "--seed", "-1"], "--seed must be between 0 and 4294967295"),
        (["train", "-m", "pca", "--seed", str(MAX_SEED + 1)], "--seed must be between 0 and 4294967295"),
        (["train", "-m", "beta-vae", "--steps", "100000000000"], "--steps must be at most 1,000,000,000"),
        (["train", "-m", "beta-vae", "--set", "beta=nan"], "'beta' must be a finite number, got 'nan'"),
        (["train", "-m", "beta-vae", "--set", "beta=-inf"], "'beta' must be a finite number"),
        (["train", "-m", "pca", "--config", "steps.yaml"], "config file 'steps.yaml': steps:"),
        (["train", "-m", "pca", "--config", "seed.yaml"], "--seed must be between 0 and 4294967295"),
        (["train", "-m", "pca", "--config", "folder"], "config file 'folder' is a folder"),
        (["train", "-m", "pca", "--config", "[x].yaml"], "config file '[x].yaml' does not exist"),  # not read as markup
        (["train", "-m", "pca", "--runs-dir", "a_file"], "'a_file"),
        (["data", "preview", "synthetic", "--out", "folder"], "'folder' is a folder"),
        (["data", "preview", "synthetic", "--out", "x.jpeg"], "--out must end in .png, .svg or .pdf"),
    ],
)
def test_user_mistakes_are_one_line_usage_errors(cli, tmp_path, args, fragment):
    (tmp_path / "steps.yaml").write_text("steps: ten\n")
    (tmp_path / "seed.yaml").write_text("seed: -1\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file").write_text("not a folder\n")
    result = cli(*args)
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert fragment in line and "bug in disbench" not in line
    assert not Path("runs").exists()


@pytest.mark.parametrize(
    "error, exit_code, fragment",
    [
        (PermissionError(13, "Permission denied", "/srv/shared/runs"), 2, "'/srv/shared/runs' permission denied"),
        (IsADirectoryError(21, "Is a directory", "results"), 2, "'results' is a folder, where a file is expected"),
        (NotADirectoryError(20, "Not a directory", "runs/x"), 2, "'runs/x' is not a folder"),
        (FileNotFoundError(2, "No such file or directory", "gone"), 2, "'gone' does not exist"),
        (OSError(28, "No space left on device", "runs/x/checkpoint.pt"), 1, "no space left"),
    ],
)
def test_file_system_errors_are_one_line_not_a_bug(cli, monkeypatch, error, exit_code, fragment):
    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr("disbench.training.runs.train_run", refuse)
    result = cli("train", "-m", "pca")
    assert result.exit_code == exit_code, result.output
    line = one_line(result.stderr)
    assert fragment in line and "bug in disbench" not in line


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--bogus"],
        ["train", "-m", "pca", "--seed", "x"],
        ["train", "-m", "pca", "--steps", "1e20"],
        ["eval", "--n-eval", "many"],
        ["report", "--unknown-flag"],
        ["data", "info"],
    ],
)
def test_usage_errors_from_the_option_parser_are_one_line(tmp_path, args):
    result = disbench(*args)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("error: ") and "--help" in line
    assert "╭" not in result.stderr and result.stdout == ""


def test_version(tmp_path):
    from disbench import __version__

    result = disbench("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"disbench {__version__}"


def test_env_reports_install_libraries_and_folders(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "nowhere"))
    result = cli("env")
    assert result.exit_code == 0, result.output
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    for library in ("torch", "torchvision", "numpy", "scipy", "pandas", "scikit-learn", "h5py"):
        assert fields[library].strip()[0].isdigit(), (library, fields.get(library))
    assert "git " in fields["installed"] or "wheel" in fields["installed"]
    assert str(tmp_path / "nowhere") in fields["data folder"] and "does not exist" in fields["data folder"]
    assert str(tmp_path / "cache") in fields["cache folder"] and "DISBENCH_CACHE" in fields["cache folder"]


@pytest.mark.parametrize(
    "command, promised, not_promised",
    [
        (["train"], ["prefix with method. or dataset."], ["METRIC"]),
        (["eval"], ["METRIC.KEY=VALUE"], ["prefix with method", "method., dataset."]),
        (["data", "info"], ["num_styles"], ["METRIC", "prefix with method"]),
        (["data", "preview"], ["num_styles"], ["METRIC", "prefix with method"]),
    ],
)
def test_set_help_names_only_the_prefixes_the_command_takes(cli, command, promised, not_promised):
    text = " ".join(cli(*command, "--help").stdout.replace("│", " ").split())
    for word in promised:
        assert word in text
    for word in not_promised:
        assert word not in text


def test_a_run_that_fails_before_writing_leaves_no_folder(cli, tmp_path):
    result = cli("train", "-m", "random", "-d", "imagefolder", "--set", "root=missing")
    assert result.exit_code == 2, result.output
    assert not Path("runs").exists() or not any(Path("runs").iterdir())  # the lock's folder is not left behind


def test_the_method_may_come_from_the_config_file(cli, tmp_path):
    (tmp_path / "run.yaml").write_text("method: pca\nset: {num_fit: 300}\nname: from-file\n")
    result = cli("train", "--config", "run.yaml", "--quiet")
    assert result.exit_code == 0, result.output
    assert read_run_config(Path(result.stdout.strip()))["label"] == "from-file"
    missing = cli("train")
    assert missing.exit_code == 2 and "--method" in one_line(missing.stderr)


def test_a_run_trained_on_a_relative_folder_records_it_absolute(cli, tmp_path):
    from image_folders import make_image_folder

    make_image_folder(tmp_path / "imgs", per_class=2)
    result = cli("train", "-m", "random", "-d", "imagefolder", "--set", "root=imgs", "--quiet")
    assert result.exit_code == 0, result.output
    assert read_run_config(Path(result.stdout.strip()))["dataset_config"]["root"] == str(tmp_path / "imgs")
