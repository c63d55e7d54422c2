"""A user's mistakes as the CLI reports them: one line naming the file or value and what to do,
the documented exit code (2 usage, 1 run time), never "a bug in disbench", nothing lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from disbench.errors import UsageError


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr  # no blank line before it either
    assert "bug in disbench" not in lines[0]
    return lines[0]


def train_pca(cli, *extra):
    result = cli("train", "-m", "pca", "--set", "num_fit=300", "-q", *extra)
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip())


# --- sizes beyond the memory -----------------------------------------------------------------


def test_a_batch_beyond_the_memory_is_refused_before_the_run_exists(cli):
    result = cli("train", "-m", "beta-vae", "--steps", "2", "--set", "batch_size=10000000000")
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "batch_size 10,000,000,000" in line and "GiB of memory" in line and "lower --set batch_size" in line
    assert not Path("runs").exists() or not any(Path("runs").iterdir())  # the lock's folder is not left behind


def test_an_allocation_that_fails_is_out_of_memory_not_a_bug(cli, monkeypatch):
    from disbench.training import loop

    def allocate(*args, **kwargs):
        raise MemoryError("Unable to allocate 745. GiB for an array with shape (10000000000, 10) and data type float64")

    monkeypatch.setattr(loop, "run_training_loop", allocate)
    result = cli("train", "-m", "beta-vae", "--steps", "2")
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert "out of memory (Unable to allocate 745. GiB" in line and "batch_size" in line


def test_a_truncated_npz_is_a_one_line_usage_error(cli):
    rng = np.random.default_rng(0)
    np.savez("codes.npz", codes=rng.normal(size=(400, 4)))
    np.savez("factors.npz", factors=rng.integers(0, 3, size=(400, 2)))
    whole = Path("codes.npz").read_bytes()
    Path("codes.npz").write_bytes(whole[: len(whole) // 2])
    result = cli("eval", "--codes", "codes.npz", "--factors", "factors.npz", "-M", "mig")
    assert result.exit_code == 2
    assert "'codes.npz' is corrupt or unreadable" in one_line(result.stderr)


# --- damaged run files ---------------------------------------------------------------------------


def test_a_corrupt_checkpoint_is_named_and_train_overwrite_starts_afresh(cli):
    run_dir = train_pca(cli)
    checkpoint = run_dir / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:300])
    for args in (("train", "-m", "pca", "--set", "num_fit=300"), ("eval", "-M", "mig", "--n-eval", "300"),
                 ("eval", "-M", "mig", "--n-eval", "300", "--overwrite")):
        result = cli(*args)
        assert result.exit_code == 1, args
        line = one_line(result.stderr)
        assert "checkpoint.pt' is corrupt" in line and "`disbench train` command with --overwrite" in line
        assert "skipped" not in result.stderr
    assert train_pca(cli, "--overwrite") == run_dir
    assert cli("eval", "-M", "mig", "--n-eval", "300").exit_code == 0


def test_a_corrupt_status_is_reported_not_taken_for_no_runs(cli):
    run_dir = train_pca(cli)
    (run_dir / "status.json").write_text("{cut off")
    result = cli("eval", "-M", "mig", "--n-eval", "300")
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert "status.json' is corrupt" in line and run_dir.name in line and "no finished runs" not in line
    assert train_pca(cli) == run_dir  # the train command repairs it, as the message says
    assert cli("eval", "-M", "mig", "--n-eval", "300").exit_code == 0


# --- folders and files mixed up: exit 2 ------------------------------------------------------------


def test_folder_and_file_mix_ups_are_usage_errors(cli):
    run_dir = train_pca(cli)
    Path("notes.txt").write_text("x")
    Path("results").mkdir()
    cases = [
        (("eval", "runs"), "is a folder of runs, not a run folder; pass --runs-dir 'runs'"),
        (("eval", "notes.txt"), "'notes.txt' is a file; give a run folder"),
        (("eval", str(run_dir / "checkpoint.pt")), "checkpoint.pt' is a file; give a run folder"),
        (("eval", "--runs-dir", "notes.txt"), "--runs-dir 'notes.txt' is a file"),
        (("eval", "-M", "mig", "--leaderboard", "results"), "leaderboard 'results' is a folder"),
        (("report", "--leaderboard", "results"), "leaderboard 'results' is a folder"),
    ]
    for args, fragment in cases:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert fragment in one_line(result.stderr), args


# --- names checked before the work -------------------------------------------------------------


def test_report_names_the_closest_metrics(cli):
    train_pca(cli)
    assert cli("eval", "-M", "mig", "-M", "sap", "--n-eval", "300").exit_code == 0
    result = cli("report", "--metric", "migg")
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "no metric 'migg'" in line and "Did you mean 'mig'?" in line and "mig, sap" in line


@pytest.mark.parametrize("eval_section, fragment", [
    ("", "unknown metric 'migg'. Did you mean 'mig', "),  # the closest first
    ("eval: {set: {mig.num_binz: 3}}\n", "unknown key 'num_binz' for metric 'mig'"),
])
def test_a_suite_with_a_bad_metric_fails_before_training(cli, eval_section, fragment):
    metric = "migg" if not eval_section else "mig"
    Path("s.yaml").write_text(
        f"name: s\ndatasets: [synthetic]\nmetrics: [{metric}]\n{eval_section}methods:\n  pca: {{seeds: [0], set: {{num_fit: 300}}}}\n"
    )
    result = cli("bench", "--suite", "s.yaml")
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "method 'pca'" in line and fragment in line
    assert not Path("runs").exists()


# --- the output around an error ----------------------------------------------------------------


def test_debug_works_after_the_subcommand(cli):
    with pytest.raises(UsageError, match="unknown method 'nope'"):
        cli("train", "-m", "nope", "--debug")
    with pytest.raises(UsageError, match="unknown method 'nope'"):
        cli("--debug", "train", "-m", "nope")


def test_a_training_error_is_one_line_without_a_blank_line_before(cli):
    result = cli("train", "-m", "beta-vae", "--steps", "3", "--set", "lr=1e30")
    assert result.exit_code == 1
    assert "loss became" in one_line(result.stderr)
