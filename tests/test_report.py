"""Reports: mean ± std over seeds, best per column, formats, filters."""

from __future__ import annotations

import json

import pytest

from disbench.errors import DisbenchError
from disbench.report import build_report, render
from disbench.store import append_rows


def rows(method, seed, value, metric="mig", higher=True, space="latent", dataset="synthetic", options="{}"):
    return {
        "run_id": f"{method}-{seed}", "method": method, "dataset": dataset, "seed": seed, "space": space,
        "metric": metric, "factor": "all", "value": value, "higher_is_better": higher, "metric_options": options,
    }


@pytest.fixture
def leaderboard(tmp_path):
    path = tmp_path / "lb.csv"
    append_rows(path, [
        rows("vae", 0, 0.2), rows("vae", 1, 0.4),
        rows("ica", 0, 0.5), rows("ica", 1, 0.7),
        rows("oracle", 0, 0.9),
        rows("vae", 0, 3.0, metric="tc", higher=False), rows("ica", 0, 1.0, metric="tc", higher=False),
    ])
    return path


def test_mean_std_and_best(leaderboard):
    table = build_report(leaderboard)
    assert table.methods == ["vae", "ica", "oracle"]  # reference rows last
    mig = ("synthetic", "mig")
    vae, ica, oracle = (table.cells[(m, mig)] for m in ("vae", "ica", "oracle"))
    assert vae.mean == pytest.approx(0.3) and vae.std == pytest.approx(0.1414, abs=1e-3) and vae.n == 2
    assert ica.best and not vae.best and not oracle.best  # the oracle is a reference, never "best"
    assert table.cells[("ica", ("synthetic", "tc"))].best  # lower is better for tc
    assert table.header(mig) == "synthetic / mig ↑" and table.header(("synthetic", "tc")).endswith("↓")


def test_formats(leaderboard):
    table = build_report(leaderboard)
    md = render(table, "md")
    assert "**0.600 ± 0.141 (2)**" in md and "*oracle* (reference)" in md
    latex = render(table, "latex")
    assert "\\textbf{0.600 $\\pm$ 0.141 (2)}" in latex and "$\\uparrow$" in latex
    records = json.loads(render(table, "json"))
    assert {r["method"] for r in records} == {"vae", "ica", "oracle"}
    assert render(table, "csv").splitlines()[0].startswith("method,dataset,metric,mean,std,n_seeds")


def test_filters_and_headline_space(tmp_path):
    path = tmp_path / "lb.csv"
    append_rows(path, [
        rows("ms", 0, 0.1, space="content"), rows("ms", 0, 0.7, space="joint"),
        rows("vae", 0, 0.3),
    ])
    table = build_report(path)
    assert table.cells[("ms", ("synthetic", "mig"))].mean == pytest.approx(0.7)  # joint is the headline
    content = build_report(path, space="content")
    assert content.methods == ["ms"] and content.cells[("ms", ("synthetic", "mig"))].mean == pytest.approx(0.1)
    assert build_report(path, methods=["vae"]).methods == ["vae"]
    with pytest.raises(DisbenchError, match="match the filters"):
        build_report(path, metrics=["sap"])


def test_option_variants_get_their_own_columns(tmp_path):
    path = tmp_path / "lb.csv"
    append_rows(path, [
        rows("a", 0, 0.5, metric="dci.disentanglement", options='{"estimator": "gbt"}'),
        rows("a", 0, 0.4, metric="dci.disentanglement", options='{"estimator": "lasso"}'),
    ])
    labels = [c[1] for c in build_report(path).columns]
    assert labels == ["dci.disentanglement[estimator=gbt]", "dci.disentanglement[estimator=lasso]"]


def test_empty_leaderboard_says_how_to_make_one(tmp_path):
    with pytest.raises(DisbenchError, match="disbench bench --suite quick"):
        build_report(tmp_path / "missing.csv")


def test_sub_scores_keep_their_own_direction(tmp_path):
    """A metric lower-is-better may carry a higher-is-better sub-score (subspace-angle.right_count)."""
    from disbench.metrics.base import METRICS, Score
    from disbench.store import score_rows
    info = METRICS.get("subspace-angle")
    scores = [Score("subspace-angle", 0.3), Score("subspace-angle.right_count", 1.0, higher_is_better=True)]
    rows = score_rows({"run_id": "r"}, "points", scores, info.higher_is_better, "{}", 0.0)
    assert [r["higher_is_better"] for r in rows] == [False, True]
