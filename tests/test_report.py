"""Reports: mean ± std over seeds, best per column, formats, filters."""

from __future__ import annotations

import json

import pytest

from disbench.errors import DisbenchError
from disbench.report.pooling import build_report
from disbench.report.rendering import render
from disbench.store import append_rows
from leaderboards import scored, write_leaderboard


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
    assert table.entries == ["vae", "ica", "oracle"]  # reference rows last
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
    assert content.entries == ["ms"] and content.cells[("ms", ("synthetic", "mig"))].mean == pytest.approx(0.1)
    assert build_report(path, methods=["vae"]).entries == ["vae"]
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


def test_scores_of_different_protocols_are_never_pooled_and_the_protocol_is_shown(tmp_path):
    # a suite scored both seeds at 4,000 + 2,000 points; a later `disbench eval` scored seed 0 at the default
    suite = [dict(rows("vae", s, v), n_eval=4000, n_test=2000, eval_seed=0, timestamp="2026-12-01T10:00:00+0000")
             for s, v in ((0, 0.2), (1, 0.4))]
    default = dict(rows("vae", 0, 0.9), n_eval=10000, n_test=5000, eval_seed=0, timestamp="2026-12-01T12:00:00+0000")
    path = tmp_path / "lb.csv"
    append_rows(path, suite + [default])
    table = build_report(path)
    assert [c[1] for c in table.columns] == ["mig[n_eval=10000,n_test=5000]", "mig[n_eval=4000,n_test=2000]"]
    at_default, at_suite = (table.cells[("vae", c)] for c in table.columns)
    assert (at_default.n, at_default.mean) == (1, pytest.approx(0.9))
    assert (at_suite.n, at_suite.mean) == (2, pytest.approx(0.3))  # the suite's two seeds, nothing else
    assert "2 protocols" in table.protocol_note() and "n_eval=4000, n_test=2000, eval_seed=0" in table.protocol_note()
    records = json.loads(render(table, "json"))
    assert {r["protocol"] for r in records} == {"n_eval=4000, n_test=2000, eval_seed=0", "n_eval=10000, n_test=5000, eval_seed=0"}
    one = build_report(path, run_ids=["vae-1"])
    assert [c[1] for c in one.columns] == ["mig"] and one.protocol_note() == "scored at n_eval=4000, n_test=2000, eval_seed=0"


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


# --- entries: a cell pools runs that differ in seed alone (issue 11 item 1) ----------------------

def cell(table, entry, metric="mig", dataset="synthetic"):
    return table.cells[(entry, (dataset, metric))]


def test_different_configurations_are_not_pooled_as_seeds(tmp_path):
    preset = {"entropy": "infonce", "joint_entropy": True}
    path = write_leaderboard(tmp_path / "lb.csv", [
        scored("multispace", 0, 0.02, preset),
        scored("multispace", 0, 0.015, {**preset, "joint_entropy": False}),
        scored("multispace", 0, 0.025, {**preset, "entropy": "vicreg"}),
    ])
    table = build_report(path)
    # an ablation: each variant is named by what it changes from the configuration most runs share
    assert table.entries == ["multispace", "multispace (joint_entropy=false)", "multispace (entropy=vicreg)"]
    assert [cell(table, e).n for e in table.entries] == [1, 1, 1]


def test_entries_of_a_grid_name_every_key_that_differs(tmp_path):
    records = [
        scored("beta-vae", 0, 0.1 * i + 0.01 * j, {"beta": beta, "lr": 1e-4}, budget=steps)
        for i, beta in enumerate([2.0, 8.0, 1e30]) for j, steps in enumerate([5, 500, 5000])
    ]
    records += [scored("beta-vae", 1, 0.5, {"beta": 8.0, "lr": 1e-4}, budget=500)]
    table = build_report(write_leaderboard(tmp_path / "lb.csv", records))
    assert len(table.entries) == 9
    assert "beta-vae (beta=1e30, steps=5)" in table.entries and "beta-vae (beta=2, steps=5000)" in table.entries
    pooled_pair = cell(table, "beta-vae (beta=8, steps=500)")
    assert pooled_pair.n == 2 and pooled_pair.mean == pytest.approx((0.11 + 0.5) / 2)


def test_seeds_of_one_configuration_pool_and_a_lone_configuration_keeps_the_method_name(tmp_path):
    path = write_leaderboard(tmp_path / "lb.csv", [
        scored("beta-vae", s, v, {"beta": 4.0}) for s, v in enumerate([0.2, 0.3, 0.4])
    ] + [scored("pca", 0, 0.1)])
    table = build_report(path)
    assert table.entries == ["beta-vae", "pca"] and cell(table, "beta-vae").n == 3
    assert cell(table, "beta-vae").mean == pytest.approx(0.3)


def test_a_label_names_its_entry_and_keeps_labelled_runs_apart(tmp_path):
    path = write_leaderboard(tmp_path / "lb.csv", [
        scored("multispace", 0, 0.9, {"joint_entropy": True}),
        scored("multispace", 1, 0.8, {"joint_entropy": True}),
        scored("multispace", 0, 0.7, {"joint_entropy": False}, label="no joint entropy"),
        scored("multispace", 1, 0.6, {"joint_entropy": False}, label="no joint entropy"),
    ])
    table = build_report(path)
    assert table.entries == ["multispace", "multispace (no joint entropy)"]
    assert cell(table, "multispace (no joint entropy)").mean == pytest.approx(0.65)


def test_the_same_score_twice_counts_once_latest_timestamp_wins(tmp_path):
    first = scored("vae", 0, 0.1, timestamp="2026-12-01T10:00:00+0000")
    again = dict(first, value=0.3, timestamp="2026-12-01T12:00:00+0000")
    table = build_report(write_leaderboard(tmp_path / "lb.csv", [again, first, scored("vae", 1, 0.5)]))
    assert cell(table, "vae").n == 2 and cell(table, "vae").mean == pytest.approx(0.4)


def test_several_leaderboards_merge_by_glob_or_list(tmp_path):
    shared = scored("vae", 0, 0.1, timestamp="2026-12-01T10:00:00+0000")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_leaderboard(tmp_path / "a" / "leaderboard.csv", [shared, scored("vae", 1, 0.3)])
    b = write_leaderboard(tmp_path / "b" / "leaderboard.csv", [dict(shared, value=0.2, timestamp="2026-12-01T11:00:00+0000"), scored("vae", 2, 0.4)])
    for sources in ([a, b], [b, a], str(tmp_path / "*" / "leaderboard.csv")):
        vae = cell(build_report(sources), "vae")
        assert vae.n == 3 and vae.mean == pytest.approx((0.2 + 0.3 + 0.4) / 3)
    from disbench.errors import UsageError
    with pytest.raises(UsageError, match="matches no file"):
        build_report(str(tmp_path / "*" / "none*.csv"))


def test_tables_use_each_runs_latest_checkpoint(tmp_path):
    path = write_leaderboard(tmp_path / "lb.csv", [
        scored("vae", 0, 0.1, steps=100, budget=1000), scored("vae", 0, 0.5, steps=1000, budget=1000),
        scored("vae", 1, 0.2, steps=100, budget=1000), scored("vae", 1, 0.7, steps=1000, budget=1000),
    ])
    vae = cell(build_report(path), "vae")
    assert vae.n == 2 and vae.mean == pytest.approx(0.6)


def test_old_leaderboards_read_and_never_count_a_seed_twice(tmp_path):
    """Without `hyperparameters` (files written before the column) runs that share a seed get their own rows."""
    path = write_leaderboard(tmp_path / "lb.csv", [
        scored("ms", 0, 0.1, run_id="ms_s0_aaa"), scored("ms", 0, 0.2, run_id="ms_s0_bbb"),
        scored("vae", 0, 0.3), scored("vae", 1, 0.5),
    ], new_columns=False)
    table = build_report(path)
    assert table.entries == ["ms (run ms_s0_aaa)", "ms (run ms_s0_bbb)", "vae"]
    assert cell(table, "vae").n == 2


def test_one_configuration_on_two_datasets_is_one_entry(tmp_path):
    import pandas as pd

    records = []
    for dataset, data_config in (("dsprites", {"size": 64}), ("shapes3d", {"size": 64, "mode": "rgb"})):
        for beta in (4.0, 8.0):
            row = scored("beta-vae", 0, beta / 10, {"beta": beta}, dataset=dataset)
            row["hyperparameters"] = json.dumps({"method_config": {"beta": beta}, "dataset_config": data_config, "steps": 1000}, sort_keys=True)
            records.append(row)
    table = build_report(write_leaderboard(tmp_path / "lb.csv", records))
    assert table.entries == ["beta-vae (beta=4)", "beta-vae (beta=8)"]
    assert [c[0] for c in table.columns] == ["dsprites", "shapes3d"]
    assert pd.notna(cell(table, "beta-vae (beta=8)", dataset="shapes3d").mean)


def test_an_ablation_table_with_a_column_per_space_and_factor(tmp_path):
    """docs/ssl.md's ablation: rows per configuration, R^2 of each factor from each space."""
    records = []
    for config, shift in (({"joint_entropy": True}, 0.0), ({"joint_entropy": False}, 0.1)):
        for space in ("content", "style:group1", "joint"):
            for factor in ("content", "group1", "all"):
                records.append(scored("multispace", 0, 0.5 + shift, config, metric="r2.kernel", space=space, factor=factor))
    path = write_leaderboard(tmp_path / "lb.csv", records)
    table = build_report(path, metrics=["r2.kernel"], space=["content", "style:*"], factor=["content", "group1"])
    assert table.entries == ["multispace (joint_entropy=true)", "multispace (joint_entropy=false)"]
    assert [c[1] for c in table.columns] == [
        "r2.kernel content<-content", "r2.kernel content<-style:group1", "r2.kernel group1<-content", "r2.kernel group1<-style:group1",
    ]
    assert table.cells[("multispace (joint_entropy=false)", ("synthetic", "r2.kernel group1<-style:group1"))].mean == pytest.approx(0.6)


def test_the_usual_configuration_comes_first_and_references_last(tmp_path):
    path = write_leaderboard(tmp_path / "lb.csv", [
        scored("oracle", 0, 1.0),
        scored("vae", 0, 0.1, {"beta": 8.0, "lr": 1.0}),
        scored("vae", 0, 0.2, {"beta": 4.0, "lr": 2.0}),
        scored("vae", 0, 0.3, {"beta": 4.0, "lr": 1.0}),
        scored("pca", 0, 0.4),
    ])
    assert build_report(path).entries == ["vae", "vae (beta=8)", "vae (lr=2)", "pca", "oracle"]
