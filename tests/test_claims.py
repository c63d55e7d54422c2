"""Claims stated in suites: parsing, judging on known leaderboards, `report --claims`, and the claims-cpu suite."""

from __future__ import annotations

import math

import pytest
import yaml

from disbench.suites import load_suite
from disbench.report.claims import check_claims, parse_claims
from disbench.errors import UsageError
from disbench.report.leaderboards import load_leaderboards
from leaderboards import scored, write_leaderboard

CLAIMS = [
    {"claim": "content reads content", "rows": {"label": "ms"}, "score": {"space": "content", "metric": "r2.kernel",
     "factor": "content*"}, "at_least": 0.9},
    {"claim": "content drops style", "rows": {"label": "ms"}, "score": {"space": "content", "metric": "r2.kernel",
     "factor": "style*"}, "at_most": 0.1},
    {"claim": "ablation holds more style", "rows": {"label": "fixed"}, "score": {"space": "content",
     "metric": "r2.kernel", "factor": "style*"}, "above": {"rows": {"label": "ms"}, "by": 0.05}},
    {"claim": "beats an untrained encoder", "rows": {"label": "ms"}, "score": {"space": "content",
     "metric": "linear-probe", "factor": "shape"}, "above": {"rows": {"label": "random"}, "score": {"space": "latent"},
     "by": 0.15}},
    {"claim": "never run", "rows": {"label": "absent"}, "score": {"space": "content", "metric": "mig"}, "at_least": 0.1},
]


def _leaderboard(tmp_path):
    rows = []
    # two seeds of "ms": content dims average 0.95 and 0.91 per run, style dims 0.05 and 0.15
    for seed, (c0, c1, s0, s1, shape) in enumerate([(0.96, 0.94, 0.0, 0.1, 0.8), (0.90, 0.92, 0.1, 0.2, 0.9)]):
        for factor, value in (("content[0]", c0), ("content[1]", c1), ("style[0]", s0), ("style[1]", s1)):
            rows.append(scored("multispace", seed, value, label="ms", space="content", metric="r2.kernel", factor=factor))
        rows.append(scored("multispace", seed, shape, label="ms", space="content", metric="linear-probe", factor="shape"))
        rows.append(scored("multispace", seed, 0.9, config={"adaptive_lambdas": False}, label="fixed", space="content",
                           metric="r2.kernel", factor="style[0]"))
        rows.append(scored("random", seed, 0.5, label="random", space="latent", metric="linear-probe", factor="shape"))
    return write_leaderboard(tmp_path / "lb.csv", rows)


def test_claims_are_judged_on_the_mean_over_runs_of_each_runs_factor_mean(tmp_path):
    frame = load_leaderboards(_leaderboard(tmp_path))
    results = {r.claim.text: r for r in check_claims(frame, parse_claims(CLAIMS, "test"))}
    content = results["content reads content"]
    assert content.n == 2 and content.mean == pytest.approx(0.93)  # runs 0.95 and 0.91
    assert content.std == pytest.approx(math.sqrt(2 * 0.02**2)) and content.holds is True
    style = results["content drops style"]
    assert style.mean == pytest.approx(0.1) and style.holds is True  # 0.05 and 0.15: exactly at the bound
    ablation = results["ablation holds more style"]
    assert ablation.reference == pytest.approx(0.1) and ablation.mean == pytest.approx(0.9) and ablation.holds is True
    probe = results["beats an untrained encoder"]
    assert probe.mean == pytest.approx(0.85) and probe.reference == pytest.approx(0.5) and probe.holds is True
    assert results["never run"].n == 0 and results["never run"].holds is None


@pytest.mark.parametrize(
    "claim, message",
    [
        ({"rows": {"label": "a"}, "score": {"space": "s", "metric": "m"}, "at_least": 1}, "must say in words"),
        ({"claim": "x", "rows": {"label": "a"}, "score": {"space": "s", "metric": "m"}}, "exactly one of"),
        ({"claim": "x", "rows": {"label": "a"}, "score": {"space": "s", "metric": "m"}, "at_least": 1, "at_most": 2},
         "exactly one of"),
        ({"claim": "x", "rows": {"label": "a"}, "score": {"space": "s"}, "at_least": 1}, "score needs metric"),
        ({"claim": "x", "rows": {"label": "a"}, "score": {"space": "s", "metric": "m"}, "at_least": "high"},
         "must be a number"),
        ({"claim": "x", "rows": {}, "score": {"space": "s", "metric": "m"}, "at_least": 1}, "rows must be a mapping"),
        ({"claim": "x", "rows": {"label": "a"}, "score": {"space": "s", "metric": "m"}, "at_least": 1, "why": 2},
         "unknown key 'why'"),
    ],
)
def test_malformed_claims_are_usage_errors(claim, message):
    with pytest.raises(UsageError, match=message):
        parse_claims([claim], "suite 's.yaml'")


def test_report_claims_prints_the_table_on_stdout_and_a_summary_on_stderr(tmp_path, cli):
    _leaderboard(tmp_path)
    suite = {"name": "s", "methods": [{"method": "pca", "label": "ms"}], "claims": CLAIMS}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    result = cli("report", "--leaderboard", "lb.csv", "--claims", "s.yaml", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("claim,") and len(lines) == 1 + len(CLAIMS)
    import csv
    import io

    records = list(csv.DictReader(io.StringIO(result.stdout)))
    assert float(records[0]["mean"]) == pytest.approx(0.93) and records[0]["holds"] == "True"
    assert records[-1]["n"] == "0" and records[-1]["holds"] == ""
    assert "4 of 5 claims hold (1 not run)" in result.stderr
    table = cli("report", "--leaderboard", "lb.csv", "--claims", "s.yaml", "--format", "md").stdout
    assert "| content reads content | 0.930 ± 0.028 | 2 | >= 0.9 | yes |" in table

    (tmp_path / "none.yaml").write_text("name: none\nmethods: [pca]\n")
    refused = cli("report", "--leaderboard", "lb.csv", "--claims", "none.yaml")
    assert refused.exit_code == 2 and "states no claims" in refused.stderr


def test_a_method_can_have_several_blocks_in_a_list_of_entries(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "name: s\nseeds: [0, 1]\nmethods:\n"
        "  - method: pca\n    label: a\n"
        "  - method: pca\n    set: {num_fit: 300}\n    seeds: [5]\n    label: b\n"
        "  - ica\n"
    )
    suite = load_suite(str(tmp_path / "s.yaml"))
    entries = suite.runs
    assert [(e.method, e.seed, e.label) for e in entries] == [
        ("pca", 0, "a"), ("pca", 1, "a"), ("pca", 5, "b"), ("ica", 0, None), ("ica", 1, None)
    ]
    assert entries[2].overrides == {"num_fit": 300}
    (tmp_path / "bad.yaml").write_text("name: bad\nmethods:\n  - {label: a}\n")
    with pytest.raises(UsageError, match="a method name or a mapping with `method:`"):
        load_suite(str(tmp_path / "bad.yaml"))


def test_claims_suites_state_claims_that_name_their_own_labels():
    for name in ("claims-cpu", "claims-gpu"):
        suite = load_suite(name)
        labels = {entry.label for entry in suite.entries()}
        assert len(suite.claims) >= 5
        for claim in suite.claims:
            for selection in filter(None, (claim.selection, claim.above)):
                assert selection.rows["label"] in labels, (name, claim.text)
        seeds = {}
        for entry in suite.entries():
            seeds.setdefault(entry.label, set()).add(entry.seed)
        assert all(len(s) >= 3 for s in seeds.values()), seeds  # judged on 3 seeds
