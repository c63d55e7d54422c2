"""Augmentation R^2 on a tiny image folder, with encoders known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.augment import AppearanceGroup
from disbench.datasets.imagefolder import ImageFolder, ImageFolderConfig
from disbench.datasets.synthetic import SyntheticDataset
from disbench.metrics import METRICS
from disbench.metrics.base import MetricNotApplicable
from disbench.methods.representation import Representation
from image_folders import make_image_folder

class RecordingFolder(ImageFolder):
    """An image folder that keeps every batch of views it draws, so fake encoders can read their parameters."""

    def __init__(self, config):
        super().__init__(config)
        self.drawn = []

    def sample_augmented(self, n, rng):
        images, labels, params = super().sample_augmented(n, rng)
        self.drawn.append(params)
        return images, labels, params


def parameter_matrix(params, group):
    """Names and ``(n, P)`` values of one group's recorded parameters."""
    names = list(params[group])
    return names, np.stack([params[group][name] for name in names], axis=1)


@pytest.fixture
def folder(tmp_path):
    return RecordingFolder(ImageFolderConfig(root=str(make_image_folder(tmp_path / "images", per_class=2)), size=8, workers=1))


def group_encoder(dataset, group, noise=0.0, seed=0):
    """Codes = the query's own parameters of ``group`` (plus Gaussian noise of std ``noise``)."""
    rng = np.random.default_rng(seed)

    def encode(observations, factors):
        _, params = parameter_matrix(dataset.drawn[-1], group)
        assert len(params) == len(observations)  # encode sees the views just drawn
        return Representation({"latent": params + noise * rng.normal(size=params.shape)})

    return encode


def noise_encoder(observations, factors):
    return Representation({"latent": np.random.default_rng(len(observations)).normal(size=(len(observations), 6))})


def compute(dataset, encode, **options):
    metric = METRICS.get("augmentation-r2")
    options = {"num_train": 300, "num_test": 150, "chunk_rows": 200, **options}
    return metric.compute(encode, "latent", dataset, metric.Options(**options), np.random.default_rng(0))


def group_scores(result, prefix="augmentation-r2"):
    return {s.metric.rpartition(".")[2]: s.value for s in result.scores
            if s.factor == "all" and s.metric.rpartition(".")[0] == prefix}


def test_codes_holding_one_group_score_one_there_and_zero_elsewhere(folder):
    result = compute(folder, group_encoder(folder, "spatial"))
    scores = group_scores(result)
    assert scores["spatial"] > 0.99 and abs(scores["appearance"]) < 0.1
    per_parameter = result.details["linear"]["spatial"]
    assert set(per_parameter) == {"crop_top", "crop_left", "crop_height", "crop_width", "flip"}
    assert min(per_parameter.values()) > 0.99
    rows = {(s.metric, s.factor) for s in result.scores}
    assert ("augmentation-r2.spatial", "flip") in rows and ("augmentation-r2.appearance", "hue") in rows
    swapped = group_scores(compute(folder, group_encoder(folder, "appearance")))
    assert swapped["appearance"] > 0.99 and abs(swapped["spatial"]) < 0.1


def test_noise_codes_score_near_zero(folder):
    scores = group_scores(compute(folder, noise_encoder))
    assert all(abs(v) < 0.1 for v in scores.values()), scores


def test_linear_ridge_matches_scikit_learn_on_the_same_views(folder):
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.preprocessing import StandardScaler

    codes_of_draw = []

    def noisy(observations, factors):
        _, params = parameter_matrix(folder.drawn[-1], "spatial")
        codes = params + 0.3 * np.random.default_rng(len(codes_of_draw)).normal(size=params.shape)
        codes_of_draw.append(codes)
        return Representation({"latent": codes})

    result = compute(folder, noisy, ridge_alpha=5.0, num_train=200, num_test=100, chunk_rows=300)
    # one chunk of 300 views: drawn[0]
    codes = codes_of_draw[0]
    for group, scores in result.details["linear"].items():
        names, targets = parameter_matrix(folder.drawn[0], group)
        for name, value in scores.items():
            y = targets[:, names.index(name)][:, None]
            x_scaler, y_scaler = StandardScaler().fit(codes[:200]), StandardScaler().fit(y[:200])
            model = Ridge(alpha=5.0).fit(x_scaler.transform(codes[:200]), y_scaler.transform(y[:200]))
            expected = r2_score(y_scaler.transform(y[200:]), model.predict(x_scaler.transform(codes[200:])))
            assert value == pytest.approx(expected, abs=1e-9), (group, name)
    assert 0.2 < np.mean(list(result.details["linear"]["spatial"].values())) < 0.95  # noisy: neither 0 nor 1


def test_kernel_ridge_scores_too(folder):
    result = compute(folder, group_encoder(folder, "spatial"), kernel=True, num_train=120, num_test=60)
    kernel = group_scores(result, "augmentation-r2.kernel")
    assert kernel["spatial"] > 0.9 and abs(kernel["appearance"]) < 0.2
    assert len(result.details["kernel_alpha_gamma"]) == sum(len(v) for v in result.details["linear"].values())


def test_constant_parameters_are_skipped_not_nan(folder):
    folder.augmentations["appearance"] = AppearanceGroup(size=8, solarize_probability=0.0, grayscale_probability=0.0)
    result = compute(folder, group_encoder(folder, "appearance"))
    assert set(result.details["constant_parameters"]) == {"appearance.solarize", "appearance.grayscale"}
    assert all(np.isfinite(s.value) for s in result.scores)
    assert "solarize" not in result.details["linear"]["appearance"]
    assert group_scores(result)["appearance"] > 0.99


def test_same_seed_same_scores(folder):
    first = compute(folder, noise_encoder, num_train=60, num_test=30)
    second = compute(folder, noise_encoder, num_train=60, num_test=30)
    assert first.scores == second.scores


def test_factor_grid_datasets_are_not_applicable():
    def encode(observations, factors):
        raise AssertionError("nothing should be encoded")

    with pytest.raises(MetricNotApplicable, match="needs an image folder") as error:
        compute(SyntheticDataset(), encode)
    assert "\n" not in str(error.value)


def test_options_are_checked():
    options = METRICS.get("augmentation-r2").Options
    with pytest.raises(ValueError, match="num_train"):
        options(num_train=3)
    with pytest.raises(ValueError, match="ridge_alpha"):
        options(ridge_alpha=-1)
    with pytest.raises(ValueError, match="alphas and gammas"):
        options(gammas=())
