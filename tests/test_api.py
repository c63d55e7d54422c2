"""The public Python API: disbench.score, one function per codes metric, docs/api.md."""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import disbench
import disbench.metrics
from disbench.errors import UsageError
from disbench.metrics.base import CodesMetric

REPO = Path(__file__).resolve().parents[1]
API_DOC = REPO / "docs" / "api.md"


def points(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 4, size=(n, 3))
    codes = np.concatenate([factors + 0.3 * rng.normal(size=(n, 3)), rng.normal(size=(n, 2))], axis=1)
    return codes, factors


def test_api_doc_examples_run():
    failures, tried = doctest.testfile(str(API_DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried > 10
    assert failures == 0


def test_public_names_are_the_documented_ones():
    text = API_DOC.read_text()
    section = text.split("## What is public")[1].split("\n## ")[0]
    functions = re.search(r"one function per codes metric: (.*?) \(a metric", section, flags=re.S).group(1)
    documented_functions = set(re.findall(r"`(\w+)`", functions))
    codes_metrics = {name.replace("-", "_") for name, info in disbench.metrics.METRICS.items() if isinstance(info, CodesMetric)}
    assert documented_functions == codes_metrics
    assert set(disbench.metrics.__all__) == codes_metrics | {
        "METRICS", "MetricInput", "MetricResult", "Score",
        "register_codes_metric", "register_encoder_metric", "register_run_group_metric",
    }
    assert set(disbench.__all__) == {"API_VERSION", "__version__", "score"}
    assert f"API version {disbench.API_VERSION}" in text
    for name in disbench.metrics.__all__:
        assert callable(getattr(disbench.metrics, name)) or name == "METRICS"


def test_score_returns_the_leaderboard_columns_of_every_metric_and_factor():
    codes, factors = points()
    table = disbench.score(codes, factors, metrics=["mig", "sufficiency"])
    assert list(table.columns) == ["metric", "space", "factor", "value", "metric_options"]
    assert set(table.metric) == {"mig", "sufficiency"}
    assert set(table.factor) == {"factor[0]", "factor[1]", "factor[2]", "all"}
    assert (table.space == "latent").all()
    assert json.loads(table.metric_options[0]) == {"continuous_factor_bins": 20, "num_bins": 20, "num_train": None}


def test_score_equals_eval_codes_of_the_same_arrays(cli, tmp_path):
    codes, factors = points()
    np.save(tmp_path / "codes.npy", codes)
    np.save(tmp_path / "factors.npy", factors)
    result = cli(
        "eval", "--codes", str(tmp_path / "codes.npy"), "--factors", str(tmp_path / "factors.npy"),
        "-M", "mig", "-M", "dmig", "-M", "sap", "--set", "mig.num_bins=10", "--leaderboard", str(tmp_path / "lb.csv"), "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    board = pd.read_csv(tmp_path / "lb.csv")
    table = disbench.score(codes, factors, metrics=["mig", "dmig", "sap"], options={"mig": {"num_bins": 10}})
    merged = table.merge(board, on=["metric", "factor", "metric_options"], suffixes=("", "_cli"))
    assert len(merged) == len(table) == len(board)
    np.testing.assert_allclose(merged.value, merged.value_cli, rtol=0, atol=1e-12)


def test_tensors_lists_and_arrays_give_the_same_scores():
    import torch
    codes, factors = points()
    expected = disbench.score(codes, factors, metrics=["mig", "minimality"]).value.to_numpy()
    for c, f in [(torch.from_numpy(codes), torch.from_numpy(factors)), (codes.tolist(), factors.tolist()),
                 (codes.astype(np.float32), factors.astype(np.int16))]:  # fmt: skip
        got = disbench.score(c, f, metrics=["mig", "minimality"]).value.to_numpy()
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_metric_function_takes_options_as_keywords_and_matches_score():
    from disbench.metrics import dmig, mig

    codes, factors = points()
    assert mig(codes, factors, num_bins=10).value == pytest.approx(
        disbench.score(codes, factors, metrics=["mig"], options={"mig.num_bins": 10}).query("factor == 'all'").value.item()
    )
    result = dmig(codes, factors, estimator="histogram")
    assert set(result.per_factor()) == {"factor[0]", "factor[1]", "factor[2]"}
    assert result.details["assigned_dimension"] == [0, 1, 2]
    with pytest.raises(UsageError, match="unknown key 'bins' for metric 'mig'"):
        mig(codes, factors, bins=3)


def test_value_of_a_metric_with_several_aggregates_says_to_read_values():
    from disbench.metrics import dci

    codes, factors = points()
    result = dci(codes, factors, estimator="lasso")
    with pytest.raises(UsageError, match=r"read \.values\[name\]"):
        result.value
    assert set(result.values) >= {"dci.disentanglement", "dci.completeness"}


def test_factor_kinds_decide_how_columns_are_read():
    codes, factors = points()
    continuous = np.concatenate([factors[:, :2], codes[:, 2:3] + 0.01], axis=1)
    table = disbench.score(codes, continuous, metrics=["mig"], factor_kinds=["discrete", "discrete", "continuous"])
    assert len(table) == 4
    with pytest.raises(UsageError, match="not one of discrete, continuous"):
        disbench.score(codes, factors, metrics=["mig"], factor_kinds=["discrete", "discrete", "ordinal"])
    with pytest.raises(UsageError, match="names 2 kinds but the factors have 3 columns"):
        disbench.score(codes, factors, metrics=["mig"], factor_kinds=["discrete", "discrete"])
    with pytest.raises(UsageError, match="discrete factor 'factor\\[2\\]' holds non-integer values"):
        disbench.score(codes, continuous, metrics=["mig"], factor_kinds=["discrete"] * 3)


def test_dataset_name_as_factor_kinds_names_the_factors():
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, k, 500) for k in (3, 6, 40, 32, 32)], axis=1)
    codes = factors + rng.normal(size=factors.shape)
    table = disbench.score(codes, factors, metrics=["mig"], factor_kinds="dsprites")
    assert set(table.factor) == {"shape", "scale", "orientation", "x", "y", "all"}


@pytest.mark.parametrize(
    "codes, factors, message",
    [
        (np.zeros(10), np.zeros((10, 1)), "codes are 1-D"),
        ([[1.0, 2.0], [3.0]], [[0], [1]], "codes are ragged"),
        (np.full((20, 2), np.nan), np.arange(20).reshape(-1, 1) % 2, "codes hold NaN or infinite values in 20 rows"),
        (np.random.default_rng(0).random((20, 2)), np.zeros((20, 1)), "factor 'factor\\[0\\]' is constant"),
    ],
)
def test_bad_input_raises_the_clis_message_and_prints_nothing(codes, factors, message, capfd, cli, tmp_path):
    with pytest.raises(UsageError, match=message) as raised:
        disbench.score(codes, factors, metrics=["mig"])
    assert capfd.readouterr() == ("", "")
    if isinstance(codes, np.ndarray):
        np.save(tmp_path / "c.npy", codes)
        np.save(tmp_path / "f.npy", np.asarray(factors))
        result = cli("eval", "--codes", str(tmp_path / "c.npy"), "--factors", str(tmp_path / "f.npy"), "-M", "mig", "-q")
        assert result.exit_code == 2
        assert str(raised.value) in result.output


def test_test_split_must_be_a_pair():
    codes, factors = points()
    with pytest.raises(UsageError, match="test must be a pair"):
        disbench.score(codes, factors, metrics=["sap"], test=(codes,))
    table = disbench.score(codes[:400], factors[:400], metrics=["sap"], test=(codes[400:], factors[400:]))
    assert json.loads(table.metric_options[0])["num_test"] == 5000


def test_importing_disbench_and_its_metrics_does_not_import_torch_or_pandas():
    code = (
        "import sys, disbench, disbench.metrics\n"
        "from disbench.metrics import mig\n"
        "import numpy as np\n"
        "mig(np.random.rand(200, 3), np.random.randint(0, 3, (200, 2)))\n"
        "print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""


def test_the_issue_check_prints_a_table():
    code = (
        "import disbench, numpy as np; print(disbench.score(np.random.rand(1000, 10), "
        "np.random.randint(0, 5, (1000, 3)), metrics=['mig', 'dmig', 'minimality']))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert "minimality" in out.stdout and "dmig" in out.stdout
    assert out.stderr == ""
