"""The downstream metric against a transcription of dlib's downstream_task and known answers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from disbench.datasets.base import Factor
from disbench.metrics.base import METRICS, MetricInput
from disbench.metrics.downstream import DownstreamOptions, compute_downstream

FACTORS = [Factor("shape", "content", 3), Factor("scale", "content", 6)]


def _data(codes_fn, n_train=400, n_test=200, seed=0):
    rng = np.random.default_rng(seed)
    train_f = np.stack([rng.integers(0, 3, n_train), rng.integers(0, 6, n_train)], axis=1)
    test_f = np.stack([rng.integers(0, 3, n_test), rng.integers(0, 6, n_test)], axis=1)
    return MetricInput(codes_fn(train_f, rng), train_f, FACTORS, codes_fn(test_f, rng), test_f)


def _dlib_compute_loss(x_train, y_train, x_test, y_test):
    """dlib downstream_task._compute_loss with its logistic_regression_cv predictor (factors as rows)."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    train_loss, test_loss = [], []
    for i in range(y_train.shape[0]):
        model = LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x_train, y_train[i, :])
        train_loss.append(np.mean(model.predict(x_train) == y_train[i, :]))
        test_loss.append(np.mean(model.predict(x_test) == y_test[i, :]))
    return train_loss, test_loss


def _noisy_codes(factors, rng):
    return np.concatenate([factors + 0.4 * rng.normal(size=factors.shape), rng.normal(size=(len(factors), 2))], axis=1)


def _scores(result):
    return {(s.metric, s.factor): s.value for s in result.scores}


def test_logistic_regression_matches_dlib_transcription_on_the_same_points():
    data = _data(_noisy_codes)
    options = DownstreamOptions(train_sizes="20,100,300", num_test=150, predictor="logistic-regression-cv")
    scores = _scores(compute_downstream(data, options, np.random.default_rng(7)))
    # the metric's draws: the training order, then the test subset
    rng = np.random.default_rng(7)
    order = rng.permutation(len(data.codes))
    test_rows = rng.permutation(len(data.test_codes))[:150]
    for size in (20, 100, 300):
        rows = order[:size]
        _, test_acc = _dlib_compute_loss(
            data.codes[rows], data.factors[rows].T, data.test_codes[test_rows], data.test_factors[test_rows].T
        )
        assert scores[(f"downstream.lr@{size}", "shape")] == pytest.approx(test_acc[0], abs=1e-12)
        assert scores[(f"downstream.lr@{size}", "scale")] == pytest.approx(test_acc[1], abs=1e-12)
        assert scores[(f"downstream.lr@{size}", "all")] == pytest.approx(np.mean(test_acc), abs=1e-12)


def test_perfect_codes_beat_random_codes_and_accuracy_grows_with_data():
    options = DownstreamOptions(train_sizes="10,100,400", num_test=200, predictor="logistic-regression-cv")
    perfect = _scores(compute_downstream(_data(lambda f, rng: f.astype(float)), options, np.random.default_rng(0)))
    random = _scores(compute_downstream(_data(lambda f, rng: rng.normal(size=(len(f), 2))), options, np.random.default_rng(0)))
    assert perfect[("downstream.lr@400", "all")] > 0.95
    # chance is 1/3 and 1/6: random codes stay near (1/3 + 1/6) / 2 = 0.25
    assert random[("downstream.lr@400", "all")] < 0.35
    assert perfect[("downstream.lr@10", "all")] <= perfect[("downstream.lr@400", "all")]


def test_sample_efficiency_is_accuracy_at_100_over_accuracy_at_10000():
    options = DownstreamOptions(train_sizes="100,10000", num_test=200, predictor="logistic-regression-cv")
    data = _data(_noisy_codes, n_train=10_000, n_test=200)
    scores = _scores(compute_downstream(data, options, np.random.default_rng(0)))
    expected = scores[("downstream.lr@100", "all")] / scores[("downstream.lr@10000", "all")]
    assert scores[("downstream.lr.sample-efficiency", "all")] == pytest.approx(expected, rel=1e-12)
    shape = scores[("downstream.lr@100", "shape")] / scores[("downstream.lr@10000", "shape")]
    assert scores[("downstream.lr.sample-efficiency", "shape")] == pytest.approx(shape, rel=1e-12)


def test_gradient_boosting_matches_scikit_learn_on_codes_with_few_distinct_values():
    from sklearn.ensemble import GradientBoostingClassifier

    # integer codes: every distinct value is its own candidate threshold, so the trees are sklearn's
    data = _data(lambda f, rng: np.concatenate([f, rng.integers(0, 5, (len(f), 1))], axis=1).astype(float))
    options = DownstreamOptions(train_sizes="200", num_test=200, predictor="gradient-boosting")
    scores = _scores(compute_downstream(data, options, np.random.default_rng(3)))
    rng = np.random.default_rng(3)
    rows = rng.permutation(len(data.codes))[:200]
    test_rows = rng.permutation(len(data.test_codes))[:200]
    for k, name in enumerate(["shape", "scale"]):
        model = GradientBoostingClassifier(random_state=0).fit(data.codes[rows], data.factors[rows, k])
        expected = np.mean(model.predict(data.test_codes[test_rows]) == data.test_factors[test_rows, k])
        assert scores[("downstream.gbt@200", name)] == pytest.approx(expected, abs=0.011)


def test_a_training_sample_with_one_class_predicts_that_class():
    data = _data(_noisy_codes)
    order = np.random.default_rng(1).permutation(len(data.codes))
    data.factors[:, 0] = 1  # only one shape among the 5 training points drawn
    data.factors[order[-1], 0] = 0  # (check_factors needs two values somewhere)
    options = DownstreamOptions(train_sizes="5", num_test=200, predictor="logistic-regression-cv")
    scores = _scores(compute_downstream(data, options, np.random.default_rng(1)))
    assert scores[("downstream.lr@5", "shape")] == pytest.approx(np.mean(data.test_factors[:, 0] == 1), abs=1e-12)


def test_bad_options_are_refused():
    for bad in ({"train_sizes": "10,ten"}, {"train_sizes": "1"}, {"predictor": "svm"}, {"num_test": 0}):
        with pytest.raises(ValueError):
            DownstreamOptions(**bad)
    assert METRICS.get("downstream").higher_is_better


def test_a_size_beyond_the_available_points_is_skipped_not_mislabelled():
    data = _data(_noisy_codes, n_train=150, n_test=100)
    options = DownstreamOptions(train_sizes="10,100,10000", num_test=100, predictor="logistic-regression-cv")
    result = compute_downstream(data, options, np.random.default_rng(0))
    metrics = {s.metric for s in result.scores}
    assert metrics == {"downstream.lr@10", "downstream.lr@100"}  # no @10000, no sample efficiency
    assert result.details["sizes_skipped"] == {"10000": "only 150 training points"}
