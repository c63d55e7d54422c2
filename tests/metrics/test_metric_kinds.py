"""A metric's kind is the class its registration helper gives it; scoring dispatches on that class."""

from __future__ import annotations

import numpy as np
import pytest

import disbench
from disbench.errors import UsageError
from disbench.evaluation.scoring import EvalPoints, score_points
from disbench.metrics.base import (
    METRICS,
    CodesMetric,
    EncoderMetric,
    MetricResult,
    RunGroupMetric,
    Score,
    register_codes_metric,
    register_encoder_metric,
    register_run_group_metric,
)
from disbench.metrics.functions import codes_metric_functions
from disbench.metrics.selection import resolve_metric_names


@pytest.fixture
def scratch_registry(monkeypatch):
    """Metrics registered by a test leave the registry as it was."""
    monkeypatch.setattr(METRICS, "_entries", dict(METRICS._entries))
    return METRICS


def first_code_mean(data, options, rng) -> MetricResult:
    """Mean of the first code dimension."""
    return MetricResult([Score("first-mean", float(data.codes[:, 0].mean()))])


def test_each_helper_registers_its_kind(scratch_registry):
    register_codes_metric("first-mean")(first_code_mean)
    register_encoder_metric("encoder-probe", higher_is_better=False)(lambda encode, space, dataset, options, rng: None)
    register_run_group_metric("group-probe")(lambda members, options, rng: [])
    assert type(METRICS.get("first-mean")) is CodesMetric
    assert type(METRICS.get("encoder-probe")) is EncoderMetric and not METRICS.get("encoder-probe").higher_is_better
    assert type(METRICS.get("group-probe")) is RunGroupMetric
    assert METRICS.get("first-mean").summary == "Mean of the first code dimension."
    assert [METRICS.get(n).needs for n in ("first-mean", "encoder-probe", "group-probe")] == ["codes", "encoder", "runs"]
    with pytest.raises(TypeError):
        register_codes_metric("typo", needs="codes")  # the kind is the helper, not a keyword


def test_every_registered_metric_has_one_of_the_three_kinds():
    kinds = {type(info) for _, info in METRICS.items()}
    assert kinds == {CodesMetric, EncoderMetric, RunGroupMetric}
    assert isinstance(METRICS.get("mig"), CodesMetric) and isinstance(METRICS.get("beta-vae"), EncoderMetric)
    assert isinstance(METRICS.get("udr"), RunGroupMetric)


def test_a_users_codes_metric_is_scored_by_score_and_gets_a_function(scratch_registry):
    register_codes_metric("first-mean", value_range=(-10.0, 10.0))(first_code_mean)
    codes = np.arange(20, dtype=float).reshape(10, 2)
    factors = np.repeat(np.arange(5), 2)[:, None]
    table = disbench.score(codes, factors, metrics=["first-mean"])
    assert table.value.tolist() == [9.0]
    function = codes_metric_functions(METRICS)["first_mean"]
    assert function(codes, factors).value == 9.0


def test_only_codes_metrics_score_codes_files_and_run_group_metrics_never_score_points():
    names, skipped = resolve_metric_names(["all"], codes_only=True)
    assert all(isinstance(METRICS.get(n), CodesMetric) for n in names)
    assert {name for name, _ in skipped} == {n for n, info in METRICS.items() if not isinstance(info, CodesMetric)}
    with pytest.raises(UsageError, match="needs the trained encoder"):
        resolve_metric_names(["udr"], codes_only=True)
    points = EvalPoints({"latent": np.eye(4)}, np.arange(4)[:, None], [])
    with pytest.raises(TypeError, match="scores runs, not points"):
        score_points(points, {"udr": METRICS.get("udr").default_options()}, {}, seed=0)
