"""The evaluation API and the leaderboard store (issue 11 items 2-4, 6-8, the API split; issue 12 item 10)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from disbench.errors import DisbenchError, UsageError
from disbench.evaluation import (
    CodesInput,
    EvalRequest,
    EvalSettings,
    RunFailed,
    evaluate_codes,
    evaluate_run,
    evaluate_runs,
    skip_summary,
)
from disbench.training.runs import resolve_run_spec, train_run
from disbench.store import LEADERBOARD_COLUMNS, read_leaderboard, write_rows

SMALL = EvalSettings(n_eval=600, n_test=300)


def pca_run(runs_dir, seed=0, label=None):
    spec = resolve_run_spec("pca", "synthetic", seed=seed, overrides={"num_fit": "300"})
    run_dir = train_run(spec, runs_dir, device="cpu").run_dir
    if label is not None:  # what `runs.train(..., label=...)` stores (the cli branch writes it)
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        (run_dir / "config.yaml").write_text(yaml.safe_dump({**config, "label": label}, sort_keys=False))
    return run_dir


def request(leaderboard, metrics=("mig",), **kwargs):
    return EvalRequest(list(metrics), leaderboard=leaderboard, settings=kwargs.pop("settings", SMALL), device="cpu", **kwargs)


# --- the leaderboard columns label and hyperparameters (COMMON interfaces) -----------------------


def test_rows_carry_label_and_hyperparameters(tmp_path):
    run_dir = pca_run(tmp_path / "runs", label="ablation-a")
    outcome = evaluate_run(run_dir, request(tmp_path / "lb.csv"))
    assert LEADERBOARD_COLUMNS[-3:] == ["label", "hyperparameters", "parameters"]  # later columns, in order
    frame = read_leaderboard(tmp_path / "lb.csv")
    assert len(frame) == len(outcome.rows) > 0
    assert set(frame["label"]) == {"ablation-a"}
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    expected = {"method_config": config["method_config"], "dataset_config": config["dataset_config"], "steps": config["steps"]}
    assert {json.loads(h) == expected for h in frame["hyperparameters"]} == {True}
    assert frame["hyperparameters"].iloc[0] == json.dumps(expected, sort_keys=True)
    other_seed = pca_run(tmp_path / "runs", seed=1)
    evaluate_run(other_seed, request(tmp_path / "lb.csv"))
    frame = read_leaderboard(tmp_path / "lb.csv")
    assert frame.groupby("seed")["hyperparameters"].first().nunique() == 1  # seeds alone differ: same value
    assert set(frame[frame.seed == 1]["label"]) == {""}


def test_old_leaderboard_without_the_new_columns_reads_them_empty(tmp_path):
    old = [c for c in LEADERBOARD_COLUMNS if c not in ("label", "hyperparameters")]
    row = {c: "" for c in old} | {"run_id": "r", "space": "latent", "metric": "mig", "factor": "all", "value": "0.5",
                                  "higher_is_better": "True", "metric_options": "{}", "seed": "0", "steps": "5"}
    pd.DataFrame([row], columns=old).to_csv(tmp_path / "old.csv", index=False)
    frame = read_leaderboard(tmp_path / "old.csv")
    assert list(frame.columns) == LEADERBOARD_COLUMNS
    assert frame.loc[0, "label"] == "" and frame.loc[0, "hyperparameters"] == ""
    write_rows(tmp_path / "old.csv", [{**row, "run_id": "s", "value": 0.25}])  # an old file can be extended
    assert len(read_leaderboard(tmp_path / "old.csv")) == 2


def test_codes_rows_carry_their_name_as_label(tmp_path):
    codes, factors = codes_and_factors()
    outcome = evaluate_codes(CodesInput(codes, factors, "mine"), request(tmp_path / "lb.csv"))
    assert {r["label"] for r in outcome.rows} == {"mine"} and {r["hyperparameters"] for r in outcome.rows} == {"{}"}
    assert {r["run_id"] for r in outcome.rows} == {"codes:mine"}


@pytest.mark.parametrize("name", ["oracle", "random", "pca", "beta-vae", "", "  ", "two\nlines"])
def test_reserved_empty_and_multiline_codes_names_are_refused(tmp_path, name):
    codes, factors = codes_and_factors()
    with pytest.raises(UsageError, match="--name"):
        evaluate_codes(CodesInput(codes, factors, name), request(tmp_path / "lb.csv"))
    assert not (tmp_path / "lb.csv").exists()


# --- item 2: a rescore replaces rows ------------------------------------------------------------


def test_overwrite_replaces_the_runs_rows_instead_of_appending(tmp_path):
    run_dir = pca_run(tmp_path / "runs")
    lb = tmp_path / "lb.csv"
    other = pca_run(tmp_path / "runs", seed=1)
    evaluate_run(other, request(lb))
    first = evaluate_run(run_dir, request(lb, metrics=["mig", "sap"]))
    before = read_leaderboard(lb)
    again = evaluate_run(run_dir, request(lb, metrics=["mig", "sap"], overwrite=True))
    after = read_leaderboard(lb)
    assert again.computed == ["mig", "sap"] and again.replaced == len(first.rows)
    assert len(after) == len(before)
    assert (after["run_id"] == other.name).sum() == (before["run_id"] == other.name).sum()  # other runs untouched
    # options are part of the key: another num_bins is another score, kept beside the first
    evaluate_run(run_dir, request(lb, metrics=["mig"], overrides={"mig.num_bins": "10"}))
    assert len(read_leaderboard(lb)) > len(after)


# --- item 3: a leaderboard that does not parse is refused, never rewritten ---------------------------


def good_row(i=0):
    return {"run_id": f"r{i}", "method": "m", "dataset": "d", "seed": 0, "space": "latent", "metric": "mig",
            "factor": "all", "value": 0.5, "higher_is_better": True, "metric_options": "{}", "steps": 5}


@pytest.mark.parametrize(
    "garbage, problem",
    [
        ("this is not a row", "1 fields where the header has"),
        ("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,extra", "27 fields where the header has"),
        ("VALUE", "value 'oops' is not a number"),
        ("SEED", "seed 'zero' is not a number"),
    ],
)
def test_a_garbage_line_is_refused_with_its_number_and_the_file_is_kept(tmp_path, garbage, problem):
    lb = tmp_path / "lb.csv"
    write_rows(lb, [good_row(0), good_row(1)])
    lines = lb.read_text().splitlines()
    if garbage == "VALUE":
        garbage = lines[1].replace(",0.5,", ",oops,")
    elif garbage == "SEED":
        garbage = lines[1].replace(",d,,0,", ",d,,zero,")
    lines.insert(2, garbage)
    text = "\n".join(lines) + "\n"
    lb.write_text(text)
    with pytest.raises(DisbenchError, match=rf"line 3: {problem}"):
        read_leaderboard(lb)
    with pytest.raises(DisbenchError, match="line 3"):
        write_rows(lb, [good_row(2)])
    run_dir = pca_run(tmp_path / "runs")
    with pytest.raises(DisbenchError, match="line 3"):
        evaluate_runs([run_dir], request(lb))
    assert lb.read_text() == text  # never rewritten
    assert not (run_dir / "results.json").exists()  # refused before any scoring


def test_a_value_that_is_not_a_number_never_reaches_a_report(tmp_path):
    from disbench.report.pooling import build_report

    lb = tmp_path / "lb.csv"
    write_rows(lb, [good_row(0)])
    lb.write_text(lb.read_text().replace(",0.5,", ",n/a,"))
    with pytest.raises(DisbenchError, match="value 'n/a' is not a number"):
        build_report(lb)


# --- item 4: "already scored" comes from results.json, and fills another leaderboard ------------------


def test_scores_in_results_json_fill_a_fresh_leaderboard_without_recomputing(tmp_path, monkeypatch):
    run_dir = pca_run(tmp_path / "runs")
    first = evaluate_run(run_dir, request(tmp_path / "a.csv", metrics=["mig", "sap"]))

    def no_encoding(*args, **kwargs):
        raise AssertionError("the run was encoded again")

    monkeypatch.setattr("disbench.evaluation.runs._encode_run", no_encoding)
    fresh = evaluate_run(run_dir, request(tmp_path / "fresh.csv", metrics=["mig", "sap"]))
    assert fresh.computed == [] and fresh.reused == ["mig", "sap"]
    assert fresh.added == len(first.rows)
    a, b = read_leaderboard(tmp_path / "a.csv"), read_leaderboard(tmp_path / "fresh.csv")
    columns = ["run_id", "space", "metric", "factor", "value", "metric_options", "label", "hyperparameters", "n_eval"]
    pd.testing.assert_frame_equal(a[columns], b[columns])
    again = evaluate_run(run_dir, request(tmp_path / "fresh.csv", metrics=["mig", "sap"]))
    assert again.added == 0 and len(read_leaderboard(tmp_path / "fresh.csv")) == len(b)  # nothing twice


def test_scoring_at_another_protocol_keeps_the_first_protocols_rows_and_results(tmp_path, monkeypatch):
    run_dir = pca_run(tmp_path / "runs")
    lb = tmp_path / "lb.csv"
    suite = evaluate_run(run_dir, request(lb, metrics=["mig", "sap"]))  # as `bench --suite` scores it
    default = evaluate_run(run_dir, request(lb, metrics=["mig", "sap"], settings=EvalSettings(n_eval=800)))
    assert default.computed == ["mig", "sap"] and default.replaced == 0
    frame = read_leaderboard(lb)
    assert len(frame) == len(suite.rows) + len(default.rows)
    assert sorted(set(zip(frame["n_eval"], frame["n_test"]))) == [(600, 300), (800, 400)]
    results = json.loads((run_dir / "results.json").read_text())
    assert [entry["protocol"]["n_eval"] for entry in results["mig"]] == [600, 800]

    monkeypatch.setattr("disbench.evaluation.runs._encode_run", lambda *a, **k: pytest.fail("scored again"))
    again = evaluate_run(run_dir, request(tmp_path / "fresh.csv", metrics=["mig", "sap"]))  # both stay reusable
    assert again.reused == ["mig", "sap"] and again.added == len(suite.rows)
    assert set(read_leaderboard(tmp_path / "fresh.csv")["n_eval"]) == {600}


def test_results_json_of_one_entry_per_metric_is_still_read(tmp_path, monkeypatch):
    run_dir = pca_run(tmp_path / "runs")
    first = evaluate_run(run_dir, request(tmp_path / "a.csv"))
    results = json.loads((run_dir / "results.json").read_text())
    (run_dir / "results.json").write_text(json.dumps({"mig": results["mig"][0]}))  # an older file's layout
    monkeypatch.setattr("disbench.evaluation.runs._encode_run", lambda *a, **k: pytest.fail("scored again"))
    again = evaluate_run(run_dir, request(tmp_path / "b.csv"))
    assert again.reused == ["mig"] and again.added == len(first.rows)


def test_codes_rows_record_their_held_out_points(tmp_path):
    codes, factors = codes_and_factors()
    lb = tmp_path / "lb.csv"
    evaluate_codes(CodesInput(codes, factors, "mine"), request(lb))
    evaluate_codes(CodesInput(codes[:200], factors[:200], "mine", test_codes=codes[200:], test_factors=factors[200:]), request(lb))
    frame = read_leaderboard(lb)
    given = frame[frame["n_eval"] == 200]
    assert len(given) and set(given["n_test"]) == {len(codes) - 200}
    assert frame[frame["n_eval"] == len(codes)]["n_test"].isna().all()  # no held-out points were given


# --- item 6: the default path: metrics that do not apply are skipped, summarised once -----------------


def test_all_metrics_on_a_run_that_is_not_a_product_manifold(tmp_path):
    runs = [pca_run(tmp_path / "runs", seed=s) for s in (0, 1)]
    outcomes = evaluate_runs(runs, request(tmp_path / "lb.csv", metrics=["all"], settings=EvalSettings(400)))
    assert all(o.error is None and o.rows for o in outcomes)
    assert "subspace-angle" in {m for o in outcomes for m, _ in o.skipped}
    summary = skip_summary(outcomes)
    assert "\n" not in summary and summary.count("subspace-angle skipped") == 1
    assert "subspace-angle skipped 2 times" in summary


# --- item 7: a failing run says what was written; --keep-going scores the rest ------------------------


def test_a_failing_run_is_named_with_what_was_written_and_keep_going_scores_the_rest(tmp_path):
    runs = [pca_run(tmp_path / "runs", seed=s) for s in (0, 1, 2)]
    (runs[1] / "checkpoint.pt").write_bytes(b"not a checkpoint")
    lb = tmp_path / "lb.csv"
    with pytest.raises(RunFailed, match=rf"run '{runs[1].name}' \(2 of 3\) failed: .*corrupt") as failure:
        evaluate_runs(runs, request(lb))
    written = len(read_leaderboard(lb))
    assert f"{written} rows from 1 runs were written" in str(failure.value) and "--keep-going" in str(failure.value)
    assert failure.value.exit_code == 1
    outcomes = evaluate_runs(runs, request(lb, keep_going=True))
    assert [o.error is None for o in outcomes] == [True, False, True]
    assert "corrupt" in outcomes[1].error
    assert set(read_leaderboard(lb)["run_id"]) == {runs[0].name, runs[2].name}


# --- item 8: every metric honours the budget ---------------------------------------------------------


def test_encoder_metric_budgets_follow_n_eval_and_n_test_and_are_recorded():
    from disbench.metrics.selection import resolve_metric_options

    settings = EvalSettings(n_eval=500)
    assert settings.n_test == 250  # half of n_eval unless given
    assert EvalSettings().n_test == 5_000  # the protocol's default is unchanged
    options = resolve_metric_options(["beta-vae", "factor-vae", "subspace-angle", "mig"], {}, settings.budget())
    assert (options["beta-vae"].num_train, options["beta-vae"].num_eval) == (500, 250)
    assert (options["factor-vae"].num_train, options["factor-vae"].num_eval, options["factor-vae"].num_variance_estimate) == (500, 250, 500)
    assert options["subspace-angle"].num_points == 500
    full = resolve_metric_options(["beta-vae"], {}, EvalSettings().budget())["beta-vae"]
    assert (full.num_train, full.num_eval) == (10_000, 5_000)  # dlib's numbers at the protocol's budget
    chosen = resolve_metric_options(["beta-vae"], {"beta-vae.num_train": "800"}, settings.budget())["beta-vae"]
    assert chosen.num_train == 800  # an explicit --set wins over the budget


def test_the_beta_vae_score_draws_only_the_budgeted_points(tmp_path, monkeypatch):
    """A dSprites oracle run: the encoder metric encodes (n_eval + n_test) x 2 x batch_size observations."""
    from disbench.methods import representation

    spec = resolve_run_spec("oracle", "dsprites")
    run_dir = train_run(spec, tmp_path / "runs", device="cpu").run_dir
    encoded = []
    original = representation.encode_factors

    def counting(encode, dataset, factors, rng, chunk_rows):
        encoded.append(len(factors))
        return original(encode, dataset, factors, rng, chunk_rows)

    monkeypatch.setattr(representation, "encode_factors", counting)
    settings = EvalSettings(n_eval=40, n_test=20)
    outcome = evaluate_run(run_dir, request(tmp_path / "lb.csv", metrics=["beta-vae"], settings=settings,
                                           overrides={"beta-vae.batch_size": "4"}))
    spaces = len({r["space"] for r in outcome.rows})
    # the evaluation points, then per space the metric's training and evaluation batches
    assert encoded == [40, 20] + [40 * 2 * 4, 20 * 2 * 4] * spaces
    recorded = json.loads(outcome.rows[0]["metric_options"])
    assert (recorded["num_train"], recorded["num_eval"], recorded["batch_size"]) == (40, 20, 4)


def test_n_test_zero_is_refused_with_the_fix():
    with pytest.raises(UsageError, match="--n-test must be at least 1.*omit --n-test"):
        EvalSettings(n_eval=1000, n_test=0)


# --- issue 12 item 10: a held-out split for codes files -------------------------------------------


def codes_and_factors(n=600, seed=0):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, k, n) for k in (3, 5)], axis=1)
    codes = factors + 0.1 * rng.standard_normal(factors.shape)
    return codes, factors


def test_fitted_metrics_receive_exactly_the_given_held_out_arrays(tmp_path, monkeypatch):
    from disbench.metrics.base import METRICS

    received = {}
    for name in ("sap", "dci"):
        info = METRICS.get(name)

        def spy(data, options, rng, _name=name, _compute=info.compute):
            received[_name] = (data.codes.copy(), data.factors.copy(), data.test_codes.copy(), data.test_factors.copy())
            return _compute(data, options, rng)

        monkeypatch.setitem(METRICS._entries, name, dataclasses.replace(info, compute=spy))
    codes, factors = codes_and_factors(600, seed=0)
    test_codes, test_factors = codes_and_factors(300, seed=1)
    outcome = evaluate_codes(
        CodesInput(codes, factors, "split", test_codes=test_codes, test_factors=test_factors),
        request(tmp_path / "lb.csv", metrics=["sap", "dci"]),
    )
    assert outcome.rows
    for name in ("sap", "dci"):
        train_codes, train_factors, got_codes, got_factors = received[name]
        np.testing.assert_array_equal(train_codes, codes)
        np.testing.assert_array_equal(train_factors, factors)
        np.testing.assert_array_equal(got_codes, test_codes)
        np.testing.assert_array_equal(got_factors, test_factors)


def test_held_out_set_changes_the_score_and_half_a_pair_is_refused(tmp_path):
    codes, factors = codes_and_factors(600, seed=0)
    test_codes, test_factors = codes_and_factors(300, seed=1)
    split = evaluate_codes(CodesInput(codes, factors, "a", test_codes=test_codes, test_factors=test_factors),
                           request(tmp_path / "lb.csv", metrics=["sap"]))
    internal = evaluate_codes(CodesInput(codes, factors, "b"), request(tmp_path / "lb.csv", metrics=["sap"]))
    assert [r["value"] for r in split.rows] != [r["value"] for r in internal.rows]
    with pytest.raises(UsageError, match="--test-codes and --test-factors go together"):
        evaluate_codes(CodesInput(codes, factors, "c", test_codes=test_codes), request(tmp_path / "lb.csv"))
    with pytest.raises(UsageError, match="test codes have 3 dimensions"):
        evaluate_codes(CodesInput(codes, factors, "d", test_codes=np.ones((300, 3)), test_factors=test_factors),
                       request(tmp_path / "lb.csv"))


# --- the API split ----------------------------------------------------------------------------


def test_each_concept_has_one_home():
    import disbench.evaluation as evaluation
    import disbench.evaluation.encoding as encoding
    import disbench.evaluation.runs as runs
    import disbench.figures.plots as plots
    import disbench.metrics.encoder_batches as encoder_batches
    from disbench.metrics.selection import resolve_metric_names

    assert resolve_metric_names(["all"], codes_only=True)[0]
    assert not hasattr(evaluation, "_metrics") and not hasattr(evaluation, "encode_points")
    # the one render-and-encode is disbench.methods.representation's
    assert not hasattr(encoder_batches, "encode_factors") and not hasattr(encoding, "encode_factors")
    assert not hasattr(plots, "write_r2_heatmap")  # the heatmap's home is disbench.figures.heatmap
    for module in (evaluation, runs):
        source = Path(module.__file__).read_text()
        assert '"data_source":' not in source  # the provenance row is built by store.provenance_row alone


def test_one_row_heatmap_keeps_a_readable_colourbar():
    import matplotlib.pyplot as plt

    from disbench.figures.heatmap import r2_heatmap_figure

    matrix = pd.DataFrame([[0.9, 0.1, 0.4]], index=["latent"], columns=["a", "b", "c"])
    fig = r2_heatmap_figure(matrix, "run\nkernel R$^2$")
    colourbar = fig.axes[-1]
    height_inches = colourbar.get_position().height * fig.get_figheight()
    fig.canvas.draw()
    label = colourbar.yaxis.label.get_window_extent()
    plt.close(fig)
    assert height_inches >= 1.2
    assert label.height <= colourbar.get_window_extent().height  # the label fits beside the bar
