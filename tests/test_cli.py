"""The command line, as a user meets it: every command, and every bad input of the foundation issue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def test_help_does_not_import_torch():
    code = "import sys; from disbench.cli import app; assert 'torch' not in sys.modules and 'sklearn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


COMMANDS = {"train", "eval", "report", "bench", "list", "data", "env"}


def commands_panel(help_text: str) -> set[str]:
    """The command names in the Commands panel of a --help (not the examples of its epilog)."""
    panel = help_text.split("─ Commands ─", 1)[1].split("╰", 1)[0]
    # a command's row starts with its name; its description's wrapped lines start with spaces
    return {row[2:].split()[0] for row in panel.splitlines() if row.startswith("│ ") and row[2:3].strip()}


def test_help_lists_every_command(cli):
    """Every command is registered, listed in --help's Commands panel and answers its own --help."""
    import typer

    from disbench.cli import app

    assert set(typer.main.get_command(app).commands) == COMMANDS
    result = cli("--help")
    assert result.exit_code == 0
    assert commands_panel(result.stdout) == COMMANDS
    for command in sorted(COMMANDS):
        helped = cli(command, "--help")
        assert helped.exit_code == 0 and "Usage:" in helped.stdout, command


def test_train_then_skip(cli, tmp_path):
    first = cli("train", "-m", "pca", "--set", "num_fit=300")
    assert first.exit_code == 0, first.output
    run_dir = first.stdout.strip()
    assert run_dir.startswith("runs/pca_synthetic_s0_")
    assert "trained" in first.stderr
    second = cli("train", "-m", "pca", "--set", "num_fit=300")
    assert second.exit_code == 0 and "already finished, skipped" in second.stderr
    third = cli("train", "-m", "pca", "--set", "num_fit=300", "--overwrite", "--quiet")
    assert third.exit_code == 0 and third.stderr == ""


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "-m", "beta-vea"], "unknown method 'beta-vea'. Did you mean 'beta-vae'"),
        (["train", "-m", "pca", "-d", "synthetc"], "unknown dataset 'synthetc'. Did you mean 'synthetic'"),
        (["train", "-m", "pca", "--set", "bogus=1"], "unknown --set key 'bogus'. Method 'pca' takes: num_components, num_fit"),
        (["train", "-m", "beta-vae", "--set", "beta=big"], "method 'beta-vae' key 'beta' must be a number, got 'big'"),
        (["train", "-m", "beta-vae", "--set", "latent_dim=0"], "latent_dim must be at least 1"),
        (["train", "-m", "pca", "--set", "novalue"], "--set expects key=value"),
        (["train", "-m", "pca", "--config", "missing.yaml"], "config file 'missing.yaml' does not exist"),
        (["train", "-m", "pca", "--device", "tpu"], "unknown device 'tpu'"),
        (["eval", "--metric", "mgi"], "unknown metric 'mgi'. Did you mean 'mig'"),
        (["list", "widgets"], "unknown list kind 'widgets'"),
        (["bench", "--suite", "quik"], "unknown suite 'quik'. Did you mean 'quick'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(cli, args, fragment):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.output
    assert not Path("runs").exists() or not any(Path("runs").iterdir())  # nothing written


def test_zero_steps_is_a_usage_error(cli):
    result = cli("train", "-m", "beta-vae", "--steps", "0")
    assert result.exit_code == 2
    assert "--steps" in result.output


def test_config_file_fills_options_and_rejects_unknown_keys(cli, tmp_path):
    (tmp_path / "ok.yaml").write_text("method: pca\nseed: 4\nset: {num_fit: 300}\n")
    result = cli("train", "--method", "ica", "--config", "ok.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("runs/ica_synthetic_s4_")  # the command line wins over the file
    (tmp_path / "bad.yaml").write_text("method: pca\nsteps_per_epoch: 3\n")
    bad = cli("train", "-m", "pca", "--config", "bad.yaml")
    assert bad.exit_code == 2 and "unknown key 'steps_per_epoch'" in bad.stderr


def test_train_eval_report_end_to_end(cli):
    for method in ("oracle", "random"):
        assert cli("train", "-m", method, "--quiet").exit_code == 0
    result = cli("eval", "--metric", "mig", "--metric", "sap", "--n-eval", "1000", "--n-test", "500")
    assert result.exit_code == 0, result.output
    assert "oracle_synthetic_s0" in result.stdout and "rows written" in result.stderr
    again = cli("eval", "--metric", "mig", "--n-eval", "1000", "--n-test", "500")
    assert "already scored" in again.stderr
    report = cli("report", "--format", "md")
    assert report.exit_code == 0, report.output
    assert "synthetic / mig ↑" in report.stdout and "*oracle* (reference)" in report.stdout
    table = cli("report", "--plot", "plot.png")
    assert table.exit_code == 0 and Path("plot.png").stat().st_size > 1000


def test_eval_codes_known_answers(cli, tmp_path):
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, n, 3000) for n in (3, 6, 10)], axis=1)
    np.savez(tmp_path / "perfect.npz", codes=factors.astype(float))
    np.save(tmp_path / "random.npy", rng.standard_normal((3000, 3)))
    np.save(tmp_path / "factors.npy", factors)
    perfect = cli("eval", "--codes", "perfect.npz", "--factors", "factors.npy", "--name", "perfect", "--metric", "mig")
    assert perfect.exit_code == 0, perfect.output
    noise = cli("eval", "--codes", "random.npy", "--factors", "factors.npy", "--name", "noise", "--metric", "mig")
    assert noise.exit_code == 0, noise.output
    from disbench.store import read_leaderboard

    frame = read_leaderboard("results/leaderboard.csv")
    overall = frame[frame.factor == "all"].set_index("method")["value"]
    assert overall["perfect"] > 0.9 and overall["noise"] < 0.1


@pytest.mark.parametrize(
    "setup, fragment",
    [
        ("missing", "does not exist"),
        ("nan", "NaN or infinite"),
        ("short", "factors have 99 rows but the codes have 100"),
        ("flat", "1-D"),
    ],
)
def test_eval_codes_bad_files(cli, tmp_path, setup, fragment):
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((100, 3))
    factors = rng.integers(0, 4, (100, 2))
    if setup == "nan":
        codes[5, 1] = np.nan
    if setup == "short":
        factors = factors[:99]
    if setup == "flat":
        codes = codes[:, 0]
    if setup != "missing":
        np.save(tmp_path / "codes.npy", codes)
    np.save(tmp_path / "factors.npy", factors)
    result = cli("eval", "--codes", "codes.npy", "--factors", "factors.npy", "--metric", "mig")
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr.replace("\n", " ")
    assert not Path("results/leaderboard.csv").exists()


def test_corrupt_checkpoint_exits_1(cli):
    run_dir = cli("train", "-m", "pca", "--quiet").stdout.strip()
    (Path(run_dir) / "checkpoint.pt").write_bytes(b"not a checkpoint")
    result = cli("eval", "--metric", "mig", "--n-eval", "500")
    assert result.exit_code == 1
    assert "corrupt or unreadable" in result.stderr and "--overwrite" in result.stderr


def test_report_bad_leaderboard_exits_1(cli, tmp_path):
    (tmp_path / "lb.csv").write_text("method,value\nx,1\n")
    result = cli("report", "--leaderboard", "lb.csv")
    assert result.exit_code == 1 and "lacks columns" in result.stderr
    empty = cli("report", "--leaderboard", "none.csv")
    assert empty.exit_code == 1 and "disbench bench --suite quick" in empty.stderr


def test_list_and_data_info_and_env(cli):
    methods = cli("list", "methods")
    assert methods.exit_code == 0 and "beta-vae" in methods.stdout and "oracle" in methods.stdout
    vaes = cli("list", "methods", "*vae*").stdout
    assert "pca" not in vaes and "Cov[mean]" in vaes  # descriptions are shown literally, not as markup
    assert "synthetic" in cli("list", "datasets").stdout
    metrics = cli("list", "metrics")
    assert "mig" in metrics.stdout and "higher is better" in metrics.stdout
    assert "quick" in cli("list", "suites").stdout
    info = cli("data", "info", "synthetic", "--set", "num_styles=3")
    assert info.exit_code == 0 and "group3[1]" in info.stdout
    env = cli("env")
    assert env.exit_code == 0 and "torch" in env.stdout and "cuda available" in env.stdout


def test_bench_tiny_suite(cli, tmp_path):
    (tmp_path / "tiny.yaml").write_text(
        "name: tiny\nseeds: [0, 1]\nmetrics: [mig]\neval: {n_eval: 500, n_test: 200}\n"
        "methods:\n  pca: {set: {num_fit: 300}}\n  beta-vae: {steps: 5}\n"
    )
    listing = cli("bench", "--suite", "tiny.yaml", "--list")
    assert listing.exit_code == 0 and len(listing.stdout.strip().splitlines()) == 4
    result = cli("bench", "--suite", "tiny.yaml", "--format", "md")
    assert result.exit_code == 0, result.output
    assert "| pca |" in result.stdout and "(2)" in result.stdout
    rerun = cli("bench", "--suite", "tiny.yaml", "--format", "csv", "--jobs", "2")
    assert rerun.exit_code == 0 and "skipped" in rerun.stderr
    (tmp_path / "bad.yaml").write_text("name: bad\nmethods: {pca: {stpes: 3}}\n")
    bad = cli("bench", "--suite", "bad.yaml")
    assert bad.exit_code == 2 and "unknown key 'stpes'" in bad.stderr
