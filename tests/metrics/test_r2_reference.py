"""The r2 metric follows von Kugelgen et al.'s evaluation (ssl_identifiability, disentanglement_utils.py)."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.base import Factor
from disbench.metrics.base import METRICS, MetricInput
from disbench.metrics.r2 import R2Options, compute_r2, kernel_grid_search, kernel_r2_batches


def test_default_grid_and_sizes_are_the_references():
    options = R2Options()
    assert options.alphas == (1.0, 0.1, 0.01, 0.001)
    np.testing.assert_allclose(options.gammas, np.logspace(-2, 2, 4))
    assert (options.num_fit, options.score_batch, options.num_score_batches) == (20_480, 4_096, 10)
    assert options.kernel_max_samples is None and options.search == "group" and options.points == "fresh"


def test_group_search_equals_grid_search_cv_on_the_groups_block():
    # the reference: GridSearchCV(KernelRidge(rbf), alpha x gamma, cv=3) fitted on a whole block of targets
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(4)
    x_fit, x_test = rng.normal(size=(180, 3)), rng.normal(size=(70, 3))

    def targets(x):
        return np.stack([np.sin(2 * x[:, 0]), x[:, 1] * x[:, 2], np.tanh(x[:, 0] + x[:, 1]), 0.1 * x[:, 2]], axis=1)

    y_fit = targets(x_fit) + 0.1 * rng.normal(size=(180, 4))
    y_test = targets(x_test) + 0.1 * rng.normal(size=(70, 4))
    options = R2Options()
    groups = ["content", "content", "style", "style"]
    scores, chosen = kernel_r2_batches(x_fit, y_fit, [x_test], [y_test], options.alphas, options.gammas, groups)
    for block in (slice(0, 2), slice(2, 4)):
        search = GridSearchCV(KernelRidge(kernel="rbf"), {"alpha": list(options.alphas), "gamma": list(options.gammas)}, cv=3)
        search.fit(x_fit, y_fit[:, block])
        best = (search.best_params_["alpha"], search.best_params_["gamma"])
        assert all(tuple(c) == pytest.approx(best) for c in chosen[block])
        predicted = search.predict(x_test)
        np.testing.assert_allclose(scores[block], r2_score(y_test[:, block], predicted, multioutput="raw_values"), atol=1e-8)
    per_factor = kernel_grid_search(x_fit, y_fit, options.alphas, options.gammas)
    assert not np.array_equal(per_factor, chosen)  # the search='factor' variant chooses differently here


def draw_content_codes(n, rng):
    latents = rng.standard_normal((n, 4))
    return np.tanh(latents[:, :2] @ np.array([[1.0, 0.5, -0.3], [0.2, -1.0, 0.8]])), latents


INFO = [Factor("c0", "content"), Factor("c1", "content"), Factor("s0", "style"), Factor("s1", "style")]


def test_fresh_points_are_drawn_in_the_references_batches_and_scores_are_batch_means():
    given_codes, given_factors = draw_content_codes(60, np.random.default_rng(9))
    data = MetricInput(given_codes, given_factors, INFO, draw=draw_content_codes)
    options = R2Options(num_fit=600, score_batch=200, num_score_batches=3)
    result = compute_r2(data, options, np.random.default_rng(0))
    details = result.details
    assert details["points"] == "fresh" and details["fit_samples"] == 600 and details["score_batches"] == [200] * 3
    assert details["kernel_samples"] == 600
    get = {(s.metric, s.factor): s.value for s in result.scores}
    assert get[("r2.kernel", "c0")] > 0.9 and abs(get[("r2.kernel", "s0")]) < 0.05
    # independently: standardise with the fit points' statistics, fit, score each batch, average
    from sklearn.linear_model import LinearRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    fit_codes, fit_factors = draw_content_codes(600, rng)
    batches = [draw_content_codes(200, rng) for _ in range(3)]
    code_scaler, factor_scaler = StandardScaler().fit(fit_codes), StandardScaler().fit(fit_factors)
    model = LinearRegression().fit(code_scaler.transform(fit_codes), factor_scaler.transform(fit_factors))
    from sklearn.metrics import r2_score

    expected = np.mean(
        [r2_score(factor_scaler.transform(f), model.predict(code_scaler.transform(c)), multioutput="raw_values") for c, f in batches],
        axis=0,
    )
    np.testing.assert_allclose([get[("r2.linear", f.name)] for f in INFO], expected, atol=1e-10)


def test_codes_without_an_encoder_use_their_given_split_and_the_cheap_variant_subsamples():
    codes, factors = draw_content_codes(900, np.random.default_rng(1))
    result = compute_r2(MetricInput(codes, factors, INFO), R2Options(kernel_max_samples=300), np.random.default_rng(0))
    assert result.details["points"] == "given" and result.details["fit_samples"] == 600
    assert result.details["kernel_samples"] == 300
    given = compute_r2(
        MetricInput(codes, factors, INFO, draw=draw_content_codes), R2Options(points="given"), np.random.default_rng(0)
    )
    assert given.details["points"] == "given"


def test_options_are_checked():
    info = METRICS.get("r2")
    with pytest.raises(ValueError, match="points"):
        info.Options(points="new")
    with pytest.raises(ValueError, match="search"):
        info.Options(search="joint")
    with pytest.raises(ValueError, match="kernel_max_samples"):
        info.Options(kernel_max_samples=3)


@pytest.fixture
def one_torch_thread():
    # torch's CPU thread pool spins against other processes on a shared 2-core machine
    # (a 60-point grid search took 40 s on two threads, 0.3 s on one)
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def kernel_problem(seed: int, n_fit: int, n_test: int):
    rng = np.random.default_rng(seed)
    x_fit, x_test = rng.normal(size=(n_fit, 3)), rng.normal(size=(n_test, 3))

    def targets(x):
        return np.stack([np.sin(2 * x[:, 0]), x[:, 1] * x[:, 2], np.tanh(x[:, 0] + x[:, 1])], axis=1)

    return x_fit, targets(x_fit) + 0.1 * rng.normal(size=(n_fit, 3)), x_test, targets(x_test)


@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_ridge_in_torch_equals_the_numpy_path(seed, one_torch_thread):
    # the GPU path, run here by CPU torch in float64: the same grid choice and R^2 to 1e-6
    x_fit, y_fit, x_test, y_test = kernel_problem(seed, 240, 90)
    options = R2Options()
    groups = ["content", "content", "style"]
    numpy_scores, numpy_chosen = kernel_r2_batches(x_fit, y_fit, [x_test], [y_test], options.alphas, options.gammas, groups)
    torch_scores, torch_chosen = kernel_r2_batches(
        x_fit, y_fit, [x_test], [y_test], options.alphas, options.gammas, groups, torch_device="cpu"
    )
    np.testing.assert_array_equal(torch_chosen, numpy_chosen)
    np.testing.assert_allclose(torch_scores, numpy_scores, atol=1e-6, rtol=0)
    assert numpy_scores[0] > 0.5  # a real fit, not two equal failures


def test_kernel_ridge_predictions_in_torch_equal_numpy_and_sklearn(one_torch_thread):
    from sklearn.kernel_ridge import KernelRidge

    from disbench.metrics.r2 import kernel_ridge_predict

    x_fit, y_fit, x_test, _ = kernel_problem(3, 150, 40)
    expected = KernelRidge(kernel="rbf", alpha=0.01, gamma=0.5).fit(x_fit, y_fit).predict(x_test)
    for device in (None, "cpu"):
        (predicted,) = kernel_ridge_predict(x_fit, y_fit, [x_test], 0.01, 0.5, torch_device=device)
        np.testing.assert_allclose(predicted, expected, atol=1e-6)


def test_an_evaluation_on_a_gpu_runs_the_kernel_ridge_there(monkeypatch, one_torch_thread):
    # the evaluation's device reaches r2 through the scoring of its points; cuda is not
    # available here, so the torch backend is asked for cuda and given the CPU
    import importlib

    from disbench.evaluation.scoring import EvalPoints, score_points
    from disbench.metrics.selection import resolve_metric_options

    r2 = importlib.import_module("disbench.metrics.r2")
    asked = []
    real_backend = r2.kernel_backend

    def recording_backend(torch_device):
        asked.append(torch_device)
        return real_backend(None if torch_device is None else "cpu")

    monkeypatch.setattr(r2, "kernel_backend", recording_backend)
    codes, factors = draw_content_codes(90, np.random.default_rng(2))
    options = resolve_metric_options(["r2"], {})
    for device, expected in (("cpu", None), ("cuda", "cuda"), ("cuda:1", "cuda:1")):
        asked.clear()
        scored = score_points(EvalPoints({"codes": codes}, factors, INFO, device=device), options, {}, seed=0)
        assert set(asked) == {expected}
        assert scored.details["r2"]["codes"]["details"]["kernel_device"] == (expected or "cpu")
