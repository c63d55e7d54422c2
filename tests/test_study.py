"""`report --correlations` and `report --variance` on leaderboards whose answers are known by construction."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats
from leaderboards import scored, write_leaderboard

from disbench.errors import UsageError
from disbench.report.rows import Selection
from disbench.report.study import metric_correlations, variance_shares


def test_spearman_between_metrics_across_runs(tmp_path):
    rng = np.random.default_rng(0)
    mig = rng.random(8)
    sap = mig ** 3 + 1.0  # same order as mig: rho = 1
    dci = -mig  # reversed: rho = -1
    noisy = rng.random(8)
    records = []
    for i in range(8):
        for metric, values in (("mig", mig), ("sap", sap), ("dci", dci), ("irs", noisy)):
            records.append(scored("beta-vae", i, float(values[i]), {"beta": 4.0}, metric=metric, dataset="dsprites"))
    records.append(scored("oracle", 0, 5.0, metric="mig", dataset="dsprites"))  # a bound, not a run of the study
    result = metric_correlations(Selection(write_leaderboard(tmp_path / "lb.csv", records)))
    assert result.metrics == ["dci", "irs", "mig", "sap"]
    assert result.rho.loc["mig", "sap"] == pytest.approx(1.0) and result.rho.loc["mig", "dci"] == pytest.approx(-1.0)
    assert result.rho.loc["mig", "irs"] == pytest.approx(scipy.stats.spearmanr(mig, noisy).statistic)
    assert result.n_runs.loc["mig", "irs"] == 8


def test_correlations_take_one_dataset(tmp_path):
    records = [scored("vae", s, 0.1 * s, metric=m, dataset=d) for s in range(3) for m in ("mig", "sap") for d in ("a", "b")]
    path = write_leaderboard(tmp_path / "lb.csv", records)
    with pytest.raises(UsageError, match="pass one --dataset"):
        metric_correlations(Selection(path))
    assert metric_correlations(Selection(path, datasets=["a"])).rho.loc["mig", "sap"] == pytest.approx(1.0)


def test_variance_splits_into_method_configuration_and_seed(tmp_path):
    """Values 1..15 (odd) nest as A{a1: 1,3; a2: 5,7} B{b1: 9,11; b2: 13,15}: SS 168 = 128 + 32 + 8."""
    values = {("A", 1.0): (1, 3), ("A", 2.0): (5, 7), ("B", 1.0): (9, 11), ("B", 2.0): (13, 15)}
    records = [
        scored(method, seed, float(v), {"beta": beta}, metric="mig")
        for (method, beta), pair in values.items() for seed, v in enumerate(pair)
    ]
    [share] = variance_shares(Selection(write_leaderboard(tmp_path / "lb.csv", records)))
    assert (share.n_runs, share.n_methods, share.n_configurations) == (8, 2, 4)
    assert (share.total, share.method, share.configuration, share.seed) == pytest.approx((168, 128, 32, 8))
    assert share.share(share.seed) == pytest.approx(8 / 168)


def test_variance_of_random_scores_adds_up(tmp_path):
    rng = np.random.default_rng(1)
    records = [
        scored(m, s, float(rng.normal()), {"beta": b}, metric=metric)
        for m in ("a", "b", "c") for b in (1.0, 4.0, 16.0) for s in range(4) for metric in ("mig", "sap")
    ]
    for share in variance_shares(Selection(write_leaderboard(tmp_path / "lb.csv", records))):
        assert share.method + share.configuration + share.seed == pytest.approx(share.total)
        assert share.n_configurations == 9


def test_cli_correlations_and_variance(cli, tmp_path):
    rng = np.random.default_rng(2)
    records = [
        scored(m, s, float(rng.random()), {"beta": b}, metric=metric)
        for m in ("a", "b") for b in (1.0, 4.0) for s in range(3) for metric in ("mig", "sap", "dci")
    ]
    write_leaderboard(tmp_path / "lb.csv", records)
    result = cli("report", "--leaderboard", "lb.csv", "--correlations", "--format", "json")
    assert result.exit_code == 0, result.output
    pairs = json.loads(result.stdout)
    assert len(pairs) == 9 and {p["metric_a"] for p in pairs} == {"dci", "mig", "sap"}
    assert (tmp_path / "lb_correlations.png").stat().st_size > 1000  # the documented default name
    result = cli("report", "--leaderboard", "lb.csv", "--correlations", "--plot", "corr.svg")
    assert result.exit_code == 0 and (tmp_path / "corr.svg").read_text().lstrip().startswith("<?xml")
    variance = cli("report", "--leaderboard", "lb.csv", "--variance", "--format", "csv")
    assert variance.exit_code == 0, variance.output
    assert variance.stdout.splitlines()[0] == "metric,n_runs,n_methods,n_configurations,method,hyperparameters,seed,total_sum_of_squares"
    both = cli("report", "--leaderboard", "lb.csv", "--variance", "--correlations")
    assert both.exit_code == 2 and "one at a time" in both.stderr
