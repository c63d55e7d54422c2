"""Linear probe: perfect, random and permuted codes, and an independent softmax regression."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special

from disbench.datasets.base import Factor
from disbench.metrics import METRICS, MetricInput
from disbench.metrics.base import MetricNotApplicable

INFO = [Factor("a", "content", 3), Factor("b", "style", 4)]


def probe(data, **options):
    metric = METRICS.get("linear-probe")
    return metric.compute(data, metric.Options(**options), np.random.default_rng(0))


def values(result):
    return {s.factor: s.value for s in result.scores if s.metric == "linear-probe"}


def discrete_factors(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, 3, n), rng.integers(0, 4, n)], axis=1)


def one_hot(factors):
    return np.hstack([np.eye(3)[factors[:, 0]], np.eye(4)[factors[:, 1]]])


def test_one_hot_codes_are_probed_perfectly():
    factors = discrete_factors(600)
    codes = one_hot(factors) + 0.01 * np.random.default_rng(1).normal(size=(600, 7))
    assert values(probe(MetricInput(codes, factors, INFO))) == {"a": 1.0, "b": 1.0, "all": 1.0}


def test_random_codes_score_near_chance():
    factors = discrete_factors(3_000)
    codes = np.random.default_rng(2).normal(size=(3_000, 5))
    result = probe(MetricInput(codes, factors, INFO))
    scores = values(result)
    assert scores["a"] == pytest.approx(1 / 3, abs=0.05) and scores["b"] == pytest.approx(1 / 4, abs=0.05)
    assert result.details["chance"]["b"] == pytest.approx(1 / 4, abs=0.03)


def test_permuting_code_columns_changes_nothing():
    factors = discrete_factors(900)
    rng = np.random.default_rng(3)
    codes = one_hot(factors) + 0.8 * rng.normal(size=(900, 7))  # informative but imperfect
    permuted = codes[:, rng.permutation(7)]
    assert values(probe(MetricInput(codes, factors, INFO))) == pytest.approx(
        values(probe(MetricInput(permuted, factors, INFO))), abs=1e-12
    )


def softmax_regression_accuracy(x_train, y_train, x_test, y_test, C=1.0):
    """Independent multinomial logistic regression: scipy L-BFGS on C * cross-entropy + |W|^2 / 2."""
    mean, std = x_train.mean(0), x_train.std(0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    k, d = y_train.max() + 1, x_train.shape[1]
    target = np.eye(k)[y_train]

    def objective(flat):
        weights, bias = flat[: d * k].reshape(d, k), flat[d * k :]
        logits = x_train @ weights + bias
        log_p = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
        residual = np.exp(log_p) - target
        loss = -C * (target * log_p).sum() + 0.5 * (weights**2).sum()
        gradient = np.concatenate([(C * x_train.T @ residual + weights).ravel(), C * residual.sum(0)])
        return loss, gradient

    solution = scipy.optimize.minimize(objective, np.zeros(d * k + k), jac=True, method="L-BFGS-B",
                                       options={"maxiter": 10_000, "gtol": 1e-10, "ftol": 1e-15})
    weights, bias = solution.x[: d * k].reshape(d, k), solution.x[d * k :]
    return float(np.mean(np.argmax(x_test @ weights + bias, axis=1) == y_test))


def test_accuracy_matches_an_independent_softmax_regression():
    factors = discrete_factors(1_500, seed=4)
    rng = np.random.default_rng(5)
    codes = one_hot(factors) @ rng.normal(size=(7, 6)) + 1.5 * rng.normal(size=(1_500, 6))
    train, test = slice(0, 1_000), slice(1_000, None)
    data = MetricInput(codes[train], factors[train], INFO, codes[test], factors[test])
    scores = values(probe(data, C=0.5))
    for k, name in enumerate(["a", "b"]):
        expected = softmax_regression_accuracy(codes[train], factors[train, k], codes[test], factors[test, k], C=0.5)
        assert 0.4 < expected < 0.95  # a probe with something to get right and wrong
        assert scores[name] == pytest.approx(expected, abs=0.004)  # at most 2 of 500 borderline points differ
    assert scores["all"] == pytest.approx((scores["a"] + scores["b"]) / 2)


def test_continuous_factors_are_skipped_and_recorded():
    factors = discrete_factors(600).astype(np.float64)
    factors[:, 1] += np.random.default_rng(6).uniform(size=600)  # make b continuous
    info = [INFO[0], Factor("b", "style", None)]
    result = probe(MetricInput(one_hot(factors.astype(int))[:, :3], factors, info))
    assert values(result) == {"a": 1.0, "all": 1.0}
    assert result.details["skipped_continuous"] == ["b"]
    with pytest.raises(MetricNotApplicable, match="every factor here is continuous"):
        probe(MetricInput(factors[:, 1:], factors[:, 1:], info[1:]))


def test_same_seed_same_score_and_options_are_checked():
    factors = discrete_factors(400)
    codes = one_hot(factors) + np.random.default_rng(7).normal(size=(400, 7))
    assert values(probe(MetricInput(codes, factors, INFO))) == values(probe(MetricInput(codes, factors, INFO)))
    with pytest.raises(ValueError, match="C must be positive"):
        METRICS.get("linear-probe").Options(C=0)


def test_factors_option_classifies_only_the_named_factors():
    factors = discrete_factors(600)
    codes = one_hot(factors) + 0.01 * np.random.default_rng(1).normal(size=(600, 7))
    assert values(probe(MetricInput(codes, factors, INFO), factors=("b",))) == {"b": 1.0, "all": 1.0}
    from disbench.errors import UsageError

    with pytest.raises(UsageError, match="'c', which is not a discrete factor here; the discrete factors are: a, b"):
        probe(MetricInput(codes, factors, INFO), factors=("c",))
