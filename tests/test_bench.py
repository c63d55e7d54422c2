"""Suites: the quick suite covers the registry; entries may override datasets, seeds and metrics."""

from __future__ import annotations

import pytest

from disbench.bench import load_suite
from disbench.errors import UsageError
from disbench.methods import METHODS


def test_quick_suite_covers_every_registered_method():
    suite = load_suite("quick")
    assert {run.method for run in suite.runs} == set(METHODS)
    assert all(len([r for r in suite.runs if r.method == m]) == 2 for m in METHODS)  # two seeds each
    for run in suite.runs:
        applies_to = METHODS.get(run.method).applies_to
        assert applies_to is None or run.dataset in applies_to, run


def test_entry_overrides(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "seeds: [0, 1, 2]\nmetrics: [mig]\nmethods:\n"
        "  pca: {seeds: [5]}\n  geomancer: {datasets: [product-manifold], metrics: [subspace-angle]}\n"
    )
    suite = load_suite(str(path))
    assert [(r.method, r.seed) for r in suite.runs][:1] == [("pca", 5)]
    assert suite.runs[0].metrics == ("mig",) and suite.runs[1].metrics == ("subspace-angle",)
    assert len(suite.runs) == 4


def test_suite_without_methods_is_refused(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("name: empty\n")
    with pytest.raises(UsageError, match="lists no methods"):
        load_suite(str(path))
