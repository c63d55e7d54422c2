"""`disbench eval` as a user meets it (issue 11 items 2, 6-10 and B; issue 12 item 10)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from disbench.store import read_leaderboard


def train_pca(cli, seed=0):
    result = cli("train", "-m", "pca", "--set", "num_fit=300", "--seed", str(seed), "--quiet")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def save_codes(folder: Path, n=600, seed=0):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, k, n) for k in (3, 5)], axis=1)
    codes = factors + 0.1 * rng.standard_normal(factors.shape)
    return codes, factors


def test_default_eval_scores_every_metric_that_applies_with_one_summary_line(cli):
    train_pca(cli, 0)
    train_pca(cli, 1)
    result = cli("eval", "--n-eval", "400")  # no --metric: all
    assert result.exit_code == 0, result.output
    skipped_lines = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert len(skipped_lines) == 1 and "subspace-angle skipped 2 times" in skipped_lines[0]
    assert "mig" in result.stdout and "rows written" in result.stderr
    same = cli("eval", "--metric", "all", "--n-eval", "400")
    assert same.exit_code == 0 and "already scored" in same.stderr


def test_overwrite_keeps_the_row_count(cli):
    train_pca(cli)
    assert cli("eval", "-M", "mig", "-M", "sap", "--n-eval", "400").exit_code == 0
    before = len(read_leaderboard("results/leaderboard.csv"))
    again = cli("eval", "-M", "mig", "-M", "sap", "--n-eval", "400", "--overwrite")
    assert again.exit_code == 0 and f"{before} earlier rows replaced" in again.stderr
    assert len(read_leaderboard("results/leaderboard.csv")) == before


def test_fresh_leaderboard_gets_the_rows_already_scored(cli):
    train_pca(cli)
    first = cli("eval", "-M", "mig", "--n-eval", "400")
    written = len(read_leaderboard("results/leaderboard.csv"))
    fresh = cli("eval", "-M", "mig", "--n-eval", "400", "--leaderboard", "fresh.csv")
    assert fresh.exit_code == 0 and f"{written} rows written to fresh.csv" in fresh.stderr, first.output
    assert len(read_leaderboard("fresh.csv")) == written


def test_keep_going_scores_the_other_runs_and_exits_1(cli):
    runs = [train_pca(cli, seed) for seed in (0, 1, 2)]
    (Path(runs[1]) / "checkpoint.pt").write_bytes(b"broken")
    stopped = cli("eval", "-M", "mig", "--n-eval", "400")
    assert stopped.exit_code == 1
    assert f"run '{Path(runs[1]).name}' (2 of 3) failed" in stopped.stderr and "--keep-going" in stopped.stderr
    going = cli("eval", "-M", "mig", "--n-eval", "400", "--keep-going")
    assert going.exit_code == 1
    assert f"{Path(runs[1]).name} failed" in going.stderr and "(2 of 3 scored)" in going.stderr
    assert set(read_leaderboard("results/leaderboard.csv")["run_id"]) == {Path(runs[0]).name, Path(runs[2]).name}


@pytest.mark.parametrize("fmt", ["csv", "json", "md", "table"])
def test_formats_are_never_wrapped_or_truncated(cli, fmt, monkeypatch):
    train_pca(cli)
    monkeypatch.setenv("COLUMNS", "30")
    result = cli("eval", "-M", "mig", "-M", "sap", "-M", "modularity", "--n-eval", "400", "--format", fmt)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "…" not in out
    run_id = Path("runs").iterdir().__next__().name
    if fmt == "csv":
        records = list(csv.DictReader(io.StringIO(out)))
        assert {r["metric"] for r in records} == {"mig", "sap", "modularity"} and records[0]["run_id"] == run_id
        float(records[0]["value"])
    elif fmt == "json":
        records = json.loads(out)
        assert {r["metric"] for r in records} == {"mig", "sap", "modularity"} and records[0]["run_id"] == run_id
    elif fmt == "md":
        assert out.splitlines()[0].startswith("| run_id | label | steps | space | mig |") and run_id in out
    else:
        assert run_id in out and out.splitlines()[0].split()[:2] == ["run_id", "label"]
    bad = cli("eval", "-M", "mig", "--format", "xml")
    assert bad.exit_code == 2 and "use one of table, csv, json, md" in bad.stderr


def test_nothing_but_messages_on_a_pipe(cli):
    train_pca(cli)
    result = cli("eval", "-M", "mig", "--n-eval", "400")
    assert result.stderr.splitlines() == [line for line in result.stderr.splitlines() if line.strip()]  # no blank lines
    assert len(result.stderr.splitlines()) == 1 and "rows written" in result.stderr


def test_progress_with_eta_on_a_terminal(tmp_path):
    """On a TTY, evaluation shows its current metric and the time remaining (Rich draws on stderr)."""
    import pty

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "160"}
    subprocess.run([sys.executable, "-m", "disbench", "train", "-m", "pca", "--set", "num_fit=300", "-q"],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    controller, terminal = pty.openpty()
    process = subprocess.run(
        [sys.executable, "-m", "disbench", "eval", "-M", "mig", "-M", "sap", "--n-eval", "3000"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=terminal, timeout=300,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    drawn = b"".join(chunks).decode(errors="replace")
    assert process.returncode == 0, drawn
    assert "mig on latent" in drawn or "sap on latent" in drawn  # the metric being computed
    assert "-:--:--" in drawn or "0:00:0" in drawn  # Rich's time-remaining column


def test_codes_with_a_run_is_refused(cli, tmp_path):
    run = train_pca(cli)
    codes, factors = save_codes(tmp_path)
    np.save("codes.npy", codes)
    np.save("factors.npy", factors)
    result = cli("eval", run, "--codes", "codes.npy", "--factors", "factors.npy")
    assert result.exit_code == 2 and "either run folders or --codes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_complex_codes_are_a_one_line_usage_error(cli, tmp_path):
    codes, factors = save_codes(tmp_path)
    np.save("codes.npy", codes.astype(complex) * 1j)
    np.save("factors.npy", factors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a raw ComplexWarning fails the test
        result = cli("eval", "--codes", "codes.npy", "--factors", "factors.npy", "-M", "mig")
    assert result.exit_code == 2 and "codes are complex" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    np.save("codes.npy", codes)
    np.save("factors.npy", factors.astype(complex))
    result = cli("eval", "--codes", "codes.npy", "--factors", "factors.npy", "-M", "mig")
    assert result.exit_code == 2 and "factors are complex" in result.stderr


def test_the_suggested_fix_of_an_npz_key_error_works(cli, tmp_path):
    codes, factors = save_codes(tmp_path)
    np.savez("codes.npz", mean=codes, logvar=np.zeros_like(codes))
    np.save("factors.npy", factors)
    result = cli("eval", "--codes", "codes.npz", "--factors", "factors.npy", "-M", "mig")
    assert result.exit_code == 2
    suggestion = result.stderr.split("e.g. ")[1].split(")")[0]
    assert suggestion == "codes.npz:logvar"
    fixed = cli("eval", "--codes", "codes.npz:mean", "--factors", "factors.npy", "-M", "mig")
    assert fixed.exit_code == 0, fixed.output
    assert set(read_leaderboard("results/leaderboard.csv")["label"]) == {"codes:mean"}


def test_n_test_zero_is_refused(cli):
    train_pca(cli)
    result = cli("eval", "-M", "sap", "--n-test", "0")
    assert result.exit_code == 2 and "--n-test must be at least 1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_codes_without_name_get_distinct_rows_and_bad_names_are_refused(cli, tmp_path):
    for seed, stem in ((0, "first"), (1, "second")):
        codes, factors = save_codes(tmp_path, seed=seed)
        np.save(f"{stem}.npy", codes)
        np.save(f"{stem}_factors.npy", factors)
        assert cli("eval", "--codes", f"{stem}.npy", "--factors", f"{stem}_factors.npy", "-M", "mig").exit_code == 0
    frame = read_leaderboard("results/leaderboard.csv")
    assert set(frame["run_id"]) == {"codes:first", "codes:second"} and set(frame["label"]) == {"first", "second"}
    for bad, fragment in (("oracle", "is a disbench method"), ("random", "is a disbench method"),
                          ("", "--name is empty"), ("a\nb", "line break")):
        result = cli("eval", "--codes", "first.npy", "--factors", "first_factors.npy", "-M", "mig", "--name", bad)
        assert result.exit_code == 2 and fragment in result.stderr, bad
    np.save("pca.npy", np.load("first.npy"))  # a default name that is a method's is refused too
    named_like_a_method = cli("eval", "--codes", "pca.npy", "--factors", "first_factors.npy", "-M", "mig")
    assert named_like_a_method.exit_code == 2 and "--name 'pca' is a disbench method" in named_like_a_method.stderr


def test_held_out_codes_files_with_keys(cli, tmp_path):
    codes, factors = save_codes(tmp_path, seed=0)
    test_codes, test_factors = save_codes(tmp_path, n=300, seed=1)
    np.savez("train.npz", codes=codes, factors=factors)
    np.savez("test.npz", codes=test_codes, factors=test_factors)
    result = cli("eval", "--codes", "train.npz", "--codes-key", "codes", "--factors", "train.npz:factors",
                 "--test-codes", "test.npz", "--test-codes-key", "codes", "--test-factors", "test.npz:factors",
                 "-M", "sap", "--name", "dlib-split", "--format", "csv")
    assert result.exit_code == 0, result.output
    half = cli("eval", "--codes", "train.npz:codes", "--factors", "train.npz:factors", "--test-codes", "test.npz:codes")
    assert half.exit_code == 2 and "--test-codes and --test-factors go together" in half.stderr


def test_a_leaderboard_that_does_not_parse_exits_1_with_its_line_and_is_kept(cli):
    train_pca(cli)
    assert cli("eval", "-M", "mig", "--n-eval", "400").exit_code == 0
    path = Path("results/leaderboard.csv")
    lines = path.read_text().splitlines()
    lines.insert(3, "garbage")
    path.write_text("\n".join(lines) + "\n")
    before = path.read_text()
    result = cli("eval", "-M", "sap", "--n-eval", "400")
    assert result.exit_code == 1 and "line 4: 1 fields where the header has" in result.stderr
    assert path.read_text() == before


# --- leaderboards and budgets that cannot work: one line, before any work --------------------


def test_a_leaderboard_whose_lock_cannot_be_made_fails_at_once(tmp_path):
    """/proc takes no new files: the lock must not be polled forever."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-m", "disbench", "train", "-m", "pca", "--set", "num_fit=300", "-q"],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    result = subprocess.run(
        [sys.executable, "-m", "disbench", "eval", "-M", "mig", "--n-eval", "300", "--leaderboard", "/proc/lb.csv"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'/proc/lb.csv' cannot be written" in lines[0] and "--leaderboard" in lines[0]


def test_a_read_only_leaderboard_is_refused_and_kept(cli):
    train_pca(cli)
    assert cli("eval", "-M", "mig", "--n-eval", "400").exit_code == 0
    board = Path("results/leaderboard.csv")
    board.chmod(0o444)
    before = board.read_bytes()
    result = cli("eval", "-M", "sap", "--n-eval", "400")
    assert result.exit_code == 2
    assert "is read-only (mode 444) and is not written to" in result.stderr and len(result.stderr.splitlines()) == 1
    assert board.read_bytes() == before and (board.stat().st_mode & 0o777) == 0o444


def test_a_rewritten_leaderboard_keeps_its_mode(cli):
    train_pca(cli)
    assert cli("eval", "-M", "mig", "--n-eval", "400").exit_code == 0
    board = Path("results/leaderboard.csv")
    board.chmod(0o640)
    assert cli("eval", "-M", "sap", "--n-eval", "400").exit_code == 0
    assert (board.stat().st_mode & 0o777) == 0o640


def test_an_evaluation_budget_beyond_the_memory_is_refused_before_it_starts(cli, monkeypatch):
    from disbench import provenance

    train_pca(cli)
    monkeypatch.setattr(provenance, "available_memory", lambda: 10 * 2**20)  # 10 MiB left
    result = cli("eval", "-M", "mig", "--n-eval", "100000")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "--n-eval 100,000 (+ 5,000 held out)" in line and "GiB of memory" in line and "lower --n-eval" in line
    assert "\n" not in line and not Path("results/leaderboard.csv").exists()
    assert cli("eval", "-M", "mig", "--n-eval", "400").exit_code == 0  # a budget that fits is scored


def test_bench_refuses_a_leaderboard_it_cannot_write_before_training(cli, tmp_path):
    (tmp_path / "tiny.yaml").write_text("name: tiny\ndatasets: [synthetic]\nmetrics: [mig]\nmethods:\n  pca: {seeds: [0], set: {num_fit: 300}}\n")
    Path("lb.csv").write_text("")
    Path("lb.csv").chmod(0o444)
    result = cli("bench", "--suite", str(tmp_path / "tiny.yaml"), "--leaderboard", "lb.csv")
    assert result.exit_code == 2 and "read-only" in result.stderr
    assert not Path("runs").exists()
