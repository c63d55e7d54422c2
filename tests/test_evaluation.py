"""The evaluator on trained runs: per-space scoring, joint space, R^2 matrices and heatmaps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from disbench.evaluation import EvalRequest, EvalSettings, evaluate_run
from disbench.training.runs import resolve_run_spec, train_run
from disbench.store import read_leaderboard

SMALL = EvalSettings(n_eval=1500, n_test=600)


@pytest.fixture
def oracle_run(tmp_path):
    spec = resolve_run_spec("oracle", "synthetic", overrides={"mode": "groups"})  # two style groups
    return train_run(spec, tmp_path / "runs", device="cpu").run_dir


def test_oracle_r2_matrix_is_block_diagonal(oracle_run, tmp_path):
    # the reference's 20,480 + 10 x 4,096 fresh points would take minutes; the protocol at a small size
    small_r2 = {"r2.num_fit": 1500, "r2.score_batch": 600, "r2.num_score_batches": 1}
    request = EvalRequest(["r2"], small_r2, leaderboard=tmp_path / "lb.csv", settings=SMALL, device="cpu")
    outcome = evaluate_run(oracle_run, request)
    assert outcome.rows
    groups = pd.read_csv(oracle_run / "r2_kernel_groups.csv", index_col="space")
    assert list(groups.index) == ["content", "style:group1", "style:group2", "joint"]
    for space, own in (("content", "content"), ("style:group1", "group1"), ("style:group2", "group2")):
        for group in groups.columns:
            value = groups.loc[space, group]
            assert value > 0.99 if group == own else value < 0.05, (space, group, value)
    assert (groups.loc["joint"] > 0.99).all()
    assert (oracle_run / "r2_kernel_groups.png").stat().st_size > 5000
    assert (oracle_run / "r2_kernel_factors.png").is_file()


def test_rows_carry_provenance_and_repeat_eval_is_skipped(oracle_run, tmp_path):
    lb = tmp_path / "lb.csv"
    evaluate_run(oracle_run, EvalRequest(["mig"], leaderboard=lb, settings=SMALL, device="cpu"))
    frame = read_leaderboard(lb)
    row = frame[(frame.space == "joint") & (frame.factor == "all")].iloc[0]
    assert row["method"] == "oracle" and row["n_eval"] == 1500 and row["data_source"] == "generated in-process"
    assert json.loads(row["metric_options"])  # the resolved options are recorded
    again = evaluate_run(oracle_run, EvalRequest(["mig"], leaderboard=lb, settings=SMALL, device="cpu"))
    assert not again.computed and again.added == 0 and again.skipped[0][1].startswith("already scored")
    other_protocol = evaluate_run(oracle_run, EvalRequest(["mig"], leaderboard=lb, settings=EvalSettings(1000, 500), device="cpu"))
    assert other_protocol.rows  # a different protocol is a different score


def test_metric_options_flow_into_rows(oracle_run, tmp_path):
    lb = tmp_path / "lb.csv"
    evaluate_run(oracle_run, EvalRequest(["mig"], {"mig.num_bins": "100"}, leaderboard=lb, settings=SMALL, device="cpu"))
    frame = read_leaderboard(lb)
    assert all(json.loads(o)["num_bins"] == 100 for o in frame["metric_options"])


def test_same_seed_same_scores(tmp_path):
    spec = resolve_run_spec("pca", "synthetic", overrides={"num_fit": "500"})
    values = []
    for folder in ("a", "b"):
        run_dir = train_run(spec, tmp_path / folder, device="cpu").run_dir
        outcome = evaluate_run(run_dir, EvalRequest(["mig", "sap"], leaderboard=tmp_path / f"{folder}.csv", settings=SMALL, device="cpu"))
        values.append(np.array([r["value"] for r in outcome.rows]))
    np.testing.assert_array_equal(values[0], values[1])
