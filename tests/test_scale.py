"""The scale study: kept checkpoints scored over steps, UDR across seeds, VAE figures at eval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from disbench.cli import app
from disbench.evaluation import EvalRequest, EvalSettings, evaluate_run, evaluate_runs
from disbench.training.runs import load_run, resolve_run_spec, train_run
from disbench.store import kept_checkpoint, kept_steps, read_leaderboard
from disbench.training import CHECKPOINT, load_checkpoint

STEPS = 30
SAVE_AT = "5,12"


def saving_spec(seed: int = 0, **overrides):
    return resolve_run_spec(
        "beta-vae", "synthetic", seed=seed, steps=STEPS,
        overrides={"save_at": SAVE_AT, "checkpoint_every": "100", "batch_size": "16", "hidden": "16", **overrides},
    )


def request(leaderboard, metrics=("mig",), overrides=None, n_eval=300):
    return EvalRequest(list(metrics), dict(overrides or {}), leaderboard, EvalSettings(n_eval=n_eval), "cpu")


def test_save_at_keeps_the_checkpoints_of_those_steps(tmp_path):
    run_dir = train_run(saving_spec(), tmp_path / "runs", device="cpu").run_dir
    assert kept_steps(run_dir) == [5, 12]
    for step in (5, 12):
        assert int(load_checkpoint(kept_checkpoint(run_dir, step))["step"]) == step
    assert int(load_checkpoint(run_dir / CHECKPOINT)["step"]) == STEPS
    # a kept checkpoint loads into a method that encodes differently from the final one
    _, dataset, early = load_run(run_dir, step=5)
    _, _, final = load_run(run_dir)
    x, _ = dataset.sample(32, np.random.default_rng(0))
    assert not np.allclose(early.encode(x).spaces["latent"], final.encode(x).spaces["latent"])


def test_no_save_at_leaves_the_run_id_unchanged():
    plain = resolve_run_spec("beta-vae", "synthetic", seed=0, steps=STEPS)
    assert "save_at" not in plain.method_config
    assert saving_spec().run_id != plain.run_id


def test_a_resumed_run_has_every_kept_checkpoint_bit_identical(tmp_path, monkeypatch):
    """Killed after step 12's checkpoint but before its copy: the resumed run copies it then."""
    from disbench.methods.vae import VAEMethod

    reference = train_run(saving_spec(), tmp_path / "a", device="cpu").run_dir
    original = VAEMethod.training_step

    def crash_after_twelve(self, step, rng):
        if step == 12:
            raise RuntimeError("killed")
        return original(self, step, rng)

    monkeypatch.setattr(VAEMethod, "training_step", crash_after_twelve)
    with pytest.raises(RuntimeError):
        train_run(saving_spec(), tmp_path / "b", device="cpu")
    run_dir = tmp_path / "b" / reference.name
    kept_checkpoint(run_dir, 12).unlink()
    monkeypatch.setattr(VAEMethod, "training_step", original)
    train_run(saving_spec(), tmp_path / "b", device="cpu")
    assert kept_steps(run_dir) == [5, 12]
    for step in (5, 12):
        original_state = load_checkpoint(kept_checkpoint(reference, step))["method"]
        resumed_state = load_checkpoint(kept_checkpoint(run_dir, step))["method"]
        for key, value in original_state.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, resumed_state[key]), key
    final_a = load_checkpoint(reference / CHECKPOINT)["method"]
    final_b = load_checkpoint(run_dir / CHECKPOINT)["method"]
    for key, value in final_a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, final_b[key]), key


def test_eval_scores_every_kept_checkpoint_and_reuses_each(tmp_path):
    run_dir = train_run(saving_spec(), tmp_path / "runs", device="cpu").run_dir
    leaderboard = tmp_path / "lb.csv"
    outcome = evaluate_run(run_dir, request(leaderboard))
    frame = read_leaderboard(leaderboard)
    aggregate = frame[(frame.metric == "mig") & (frame.factor == "all")]
    assert sorted(aggregate.steps) == [5, 12, STEPS]
    assert len(set(aggregate.value)) == 3
    assert outcome.computed == ["mig"]
    assert (run_dir / "checkpoints" / "step_5.results.json").is_file()
    again = evaluate_run(run_dir, request(leaderboard))
    assert again.computed == [] and again.reused == ["mig"] and again.added == 0
    assert len(read_leaderboard(leaderboard)) == len(frame)


def test_report_plots_scores_against_kept_steps(tmp_path):
    runs = tmp_path / "runs"
    for seed in (0, 1):
        train_run(saving_spec(seed), runs, device="cpu")
    leaderboard = tmp_path / "lb.csv"
    result = CliRunner().invoke(app, ["eval", "--runs-dir", str(runs), "--metric", "mig", "--n-eval", "300",
                                      "--leaderboard", str(leaderboard), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "steps" in result.stdout.splitlines()[0]
    plot = tmp_path / "curve.png"
    result = CliRunner().invoke(app, ["report", "--leaderboard", str(leaderboard), "--plot", str(plot), "--x", "steps"])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_save_at_option(tmp_path):
    result = CliRunner().invoke(app, [
        "train", "--method", "beta-vae", "--dataset", "synthetic", "--steps", "8", "--save-at", "2,4",
        "--set", "batch_size=8", "--set", "hidden=8", "--runs-dir", str(tmp_path), "-q", "--device", "cpu",
    ])
    assert result.exit_code == 0, result.output
    assert kept_steps(result.stdout.strip()) == [2, 4]
    bad = CliRunner().invoke(app, ["train", "--method", "beta-vae", "--steps", "8", "--save-at", "0",
                                   "--runs-dir", str(tmp_path), "-q"])
    assert bad.exit_code == 2 and "save_at" in bad.output
    beyond = CliRunner().invoke(app, ["train", "--method", "beta-vae", "--steps", "8", "--save-at", "4,20",
                                      "--runs-dir", str(tmp_path), "-q"])
    assert beyond.exit_code == 2 and "beyond the run's budget of 8 steps" in beyond.output


# --- UDR across seeds -------------------------------------------------------------------


UDR_OVERRIDES = {"checkpoint_every": "1000", "beta": "0.5", "lr": "0.003", "batch_size": "32", "hidden": "32"}


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory):
    runs = tmp_path_factory.mktemp("udr") / "runs"
    dirs = []
    for seed in (0, 1, 2):
        spec = resolve_run_spec("beta-vae", "synthetic", seed=seed, steps=150, overrides=UDR_OVERRIDES)
        dirs.append(train_run(spec, runs, device="cpu").run_dir)
    lonely = resolve_run_spec("beta-vae", "synthetic", seed=0, steps=150, overrides={**UDR_OVERRIDES, "beta": "2"})
    return dirs, train_run(lonely, runs, device="cpu").run_dir


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_udr_rows_equal_udr_scores_on_the_same_codes(seed_runs, tmp_path, correlation):
    from disbench.metrics.udr import UDROptions, udr_scores
    from disbench.methods.vae import latent_statistics

    dirs, lonely = seed_runs
    leaderboard = tmp_path / "lb.csv"
    overrides = {"udr.num_points": "400", "udr.correlation": correlation}
    outcomes = evaluate_runs(dirs + [lonely], request(leaderboard, ["udr"], overrides))
    frame = read_leaderboard(leaderboard)
    assert list(frame.metric) == ["udr"] * 3 and list(frame.seed) == [0, 1, 2]

    # independently: the same 400 observations, each run's encoder means and KL, the core function
    rng = np.random.default_rng(0)
    loaded = [load_run(d) for d in dirs]
    dataset = loaded[0][1]
    observations = dataset.observations_from_factors(dataset.sample_factors(400, rng), rng)
    statistics = [latent_statistics(method, observations) for _, _, method in loaded]
    expected, _ = udr_scores([s[0] for s in statistics], [s[2] for s in statistics], UDROptions(400, correlation))
    np.testing.assert_allclose(frame.value.to_numpy(), expected, rtol=1e-9)
    assert expected.min() > 0.1  # the tiny runs share active latents: not the all-inactive zero
    # the lonely configuration is skipped with a reason; nothing is computed twice
    lonely_outcome = outcomes[-1]
    assert any(name == "udr" and "seeds" in reason for name, reason in lonely_outcome.skipped)
    again = evaluate_runs(dirs, request(leaderboard, ["udr"], overrides))
    assert all(o.reused == ["udr"] and o.added == 0 for o in again)


def test_udr_is_a_cli_metric_and_single_runs_skip_it(seed_runs, tmp_path):
    dirs, lonely = seed_runs
    leaderboard = tmp_path / "lb.csv"
    result = CliRunner().invoke(app, ["eval", str(lonely), "--metric", "udr", "--leaderboard",
                                      str(leaderboard), "--n-eval", "300", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "udr skipped" in result.output and "seeds" in result.output
    assert not (lonely / "results.json").is_file() or "udr" not in json.loads((lonely / "results.json").read_text())


# --- VAE figures at eval -------------------------------------------------------------------


def test_evaluating_a_vae_on_images_writes_traversals_and_reconstructions(tmp_path):
    image_spec = resolve_run_spec("beta-vae", "dsprites", seed=0, steps=3, overrides={"batch_size": "8"})
    run_dir = train_run(image_spec, tmp_path / "runs", device="cpu").run_dir
    evaluate_run(run_dir, request(tmp_path / "lb.csv", n_eval=200))
    for name in ("traversals.png", "reconstructions.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pca = train_run(resolve_run_spec("pca", "dsprites"), tmp_path / "runs", device="cpu").run_dir
    evaluate_run(pca, request(tmp_path / "lb.csv", n_eval=200))
    assert not (pca / "traversals.png").exists()


# --- encoder sizes in reports ----------------------------------------------------------------


def test_pretrained_encoders_of_different_sizes_show_their_parameter_counts(tmp_path):
    runs, leaderboard = tmp_path / "runs", tmp_path / "lb.csv"
    sizes = {}
    for model in ("torchvision:resnet18", "timm:resnet10t"):
        spec = resolve_run_spec("pretrained", "dsprites", overrides={"model": model, "weights": "random", "image_size": "32"})
        run_dir = train_run(spec, runs, device="cpu").run_dir
        _, _, method = load_run(run_dir)
        sizes[model] = method.num_parameters
        evaluate_run(run_dir, request(leaderboard, n_eval=1200))
    frame = read_leaderboard(leaderboard)
    assert sorted(set(frame.parameters.astype(int))) == sorted(sizes.values())
    result = CliRunner().invoke(app, ["report", "--leaderboard", str(leaderboard), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert f"{sizes['torchvision:resnet18'] / 1e6:.3g}M parameters" in result.stdout
    assert f"{sizes['timm:resnet10t'] / 1e6:.3g}M parameters" in result.stdout


def test_entries_of_one_size_are_not_named_by_it(tmp_path):
    from disbench.report.naming import parameter_note

    assert parameter_note(["102007137", "102007137"]) == "102M parameters"
    assert parameter_note(["", "nan"]) == "" and parameter_note(["5", "6"]) == ""
    run_dir = train_run(saving_spec(), tmp_path / "runs", device="cpu").run_dir
    evaluate_run(run_dir, request(tmp_path / "lb.csv"))
    result = CliRunner().invoke(app, ["report", "--leaderboard", str(tmp_path / "lb.csv"), "--format", "csv"])
    assert result.exit_code == 0 and "parameters" not in result.stdout


# --- UDR on a runs folder of mixed methods ---------------------------------------------------


def _two_seeds(cli, method, *options):
    for seed in (0, 1):
        result = cli("train", "-m", method, "--seed", str(seed), *options, "--quiet")
        assert result.exit_code == 0, result.output


def test_udr_over_a_runs_folder_skips_the_oracle_and_scores_the_rest(cli):
    _two_seeds(cli, "oracle")
    _two_seeds(cli, "pca", "--set", "num_fit=300")
    result = cli("eval", "--metric", "udr", "--set", "udr.num_points=300", "--n-eval", "300")
    assert result.exit_code == 0, result.output
    assert "udr skipped" in result.stderr and "oracle encodes the true factors" in result.stderr
    assert "2 rows written" in result.stderr
    assert list(read_leaderboard(Path("results/leaderboard.csv")).method) == ["pca", "pca"]


def test_a_failing_udr_group_is_named_keeps_going_and_reports_what_was_written(cli, monkeypatch):
    from disbench.errors import DisbenchError
    from disbench.metrics import udr

    original = udr.member_codes_and_kl

    def ica_fails(member, observations):
        if member.method.name == "ica":
            raise DisbenchError("ica cannot be encoded here.")
        return original(member, observations)

    monkeypatch.setattr(udr, "member_codes_and_kl", ica_fails)
    _two_seeds(cli, "pca", "--set", "num_fit=300")
    _two_seeds(cli, "ica", "--set", "num_fit=300")
    arguments = ("eval", "--metric", "mig", "--metric", "udr", "--set", "udr.num_points=300", "--n-eval", "300")
    stopped = cli(*arguments)
    assert stopped.exit_code == 1
    line = stopped.stderr.strip().splitlines()[-1]
    assert "udr of the runs ica_synthetic_s0_" in line and "ica_synthetic_s1_" in line
    assert "ica cannot be encoded here." in line and "rows from 4 runs were written" in line
    kept_going = cli(*arguments, "--keep-going", "--overwrite")
    assert kept_going.exit_code == 1
    assert kept_going.stderr.count("error: ica_synthetic_s") == 2
    assert "rows written to results/leaderboard.csv (2 of 4 scored" in kept_going.stderr
    frame = read_leaderboard(Path("results/leaderboard.csv"))
    assert sorted(frame[frame.metric == "udr"].method) == ["pca", "pca"]
