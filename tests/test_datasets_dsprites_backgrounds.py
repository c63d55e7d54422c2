"""noisy-dsprites and scream-dsprites: dlib's per-observation backgrounds, against a transcription of its rules."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dataset_checks import check_views_follow_groups
from disbench.datasets.dsprites import SCREAM_NAME, DSprites, NoisyDSprites, ScreamDSprites, load_background
from disbench.errors import UsageError


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    return tmp_path


def write_picture(path, width=300, height=380, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95)
    return pixels


def dlib_noisy(masks_nhwc, noise_nhwc):
    """dlib's NoisyDSprites: the mask repeated to RGB, plus noise, clipped at 1."""
    observations = np.repeat(masks_nhwc, 3, axis=3)
    return np.minimum(observations + noise_nhwc, 1.0)


def dlib_scream(masks_nhwc, scream, corners, shifts):
    """dlib's ScreamDSprites loop, given the corners and colour shifts its random state drew."""
    observations = np.repeat(masks_nhwc, 3, axis=3).astype(np.float64)
    for i in range(observations.shape[0]):
        x_crop, y_crop = corners[i]
        background = (scream[x_crop:x_crop + 64, y_crop:y_crop + 64] + shifts[i]) / 2.0
        mask = observations[i] == 1
        background[mask] = 1 - background[mask]
        observations[i] = background
    return observations


def test_noisy_sprites_are_white_on_uniform_noise_drawn_per_pixel(monkeypatch):
    monkeypatch.delenv("DISBENCH_DATA", raising=False)
    dataset = NoisyDSprites(NoisyDSprites.Config(source="render"))
    assert dataset.observation_shape == (3, 64, 64) and dataset.factor_names == ["shape", "scale", "orientation", "x", "y"]
    factors = dataset.sample_factors(50, np.random.default_rng(0))
    observations = dataset.observations_from_factors(factors, np.random.default_rng(1))
    masks = DSprites(DSprites.Config(source="render")).observations_from_factors(factors, None)[:, 0]
    noise = np.random.default_rng(1).uniform(0.0, 1.0, size=(50, 64, 64, 3))  # dlib's draw, (n, H, W, C)
    expected = dlib_noisy(masks[..., None], noise).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(observations, expected, atol=1e-7)
    assert observations.dtype == np.float32
    background = observations[np.repeat(masks[:, None] == 0, 3, axis=1)]
    assert abs(background.mean() - 0.5) < 0.01 and background.min() >= 0 and background.max() < 1
    check_views_follow_groups(dataset, n=1000)


def test_scream_crops_shift_and_invert_as_dlib(data_dir):
    write_picture(data_dir / SCREAM_NAME)
    dataset = ScreamDSprites(ScreamDSprites.Config(source="render"))
    scream = dataset.background
    # 300 x 380 fitted into 350 x 274, keeping the aspect ratio: 216 x 274
    assert scream.shape == (274, 216, 3) and scream.dtype == np.float64
    factors = dataset.sample_factors(40, np.random.default_rng(0))
    observations = dataset.observations_from_factors(factors, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    rows, columns = rng.integers(0, 274 - 64, size=40), rng.integers(0, 216 - 64, size=40)
    shifts = rng.uniform(0.0, 1.0, size=(40, 3))
    masks = DSprites(DSprites.Config(source="render")).observations_from_factors(factors, None)[:, 0]
    expected = dlib_scream(masks[..., None], scream, np.stack([rows, columns], axis=1), shifts)
    np.testing.assert_allclose(observations, expected.transpose(0, 3, 1, 2), atol=1e-6)
    assert observations.shape == (40, 3, 64, 64) and observations.dtype == np.float32
    assert dataset.data_source == f"rendered in-process; background picture {data_dir / SCREAM_NAME}"


def test_scream_crop_corners_never_reach_the_last_offset(data_dir):
    write_picture(data_dir / SCREAM_NAME, width=70, height=66)  # corners 0..5 and 0..1 only
    dataset = ScreamDSprites(ScreamDSprites.Config(source="render"))
    dataset.background = np.arange(66 * 70, dtype=np.float64).reshape(66, 70, 1).repeat(3, axis=2)
    rng = np.random.default_rng(0)
    corners = set()
    for _ in range(30):
        blank = np.zeros((50, 64, 64), dtype=np.uint8)
        crops = dataset.colourise(blank, None, rng)[:, 0]
        # top-left pixel = (row * 70 + column + shift) / 2, shift in [0, 1)
        start = np.floor(crops[:, 0, 0] * 2).astype(int)
        corners |= {divmod(int(v), 70) for v in start}
    assert corners == {(r, c) for r in range(2) for c in range(6)}


def test_background_is_fitted_as_dlibs_pillow_thumbnail(tmp_path):
    write_picture(tmp_path / "wide.jpg", width=700, height=400)
    fitted = load_background(tmp_path / "wide.jpg")
    assert fitted.shape == (200, 350, 3)  # width 700 -> 350 first, height follows
    small = tmp_path / "small.png"
    pixels = write_picture(small, width=100, height=90)
    np.testing.assert_array_equal(load_background(small), pixels / 255.0)  # within the box: untouched


def test_missing_or_unreadable_scream_image_is_one_line(data_dir):
    with pytest.raises(UsageError) as excinfo:
        ScreamDSprites(ScreamDSprites.Config(source="render"))
    message = str(excinfo.value)
    assert str(data_dir / SCREAM_NAME) in message and "The_Scream.jpg" in message and "\n" not in message
    (data_dir / SCREAM_NAME).write_bytes(b"not a picture")
    with pytest.raises(UsageError, match="cannot be read as a picture"):
        ScreamDSprites(ScreamDSprites.Config(source="render"))
    write_picture(data_dir / SCREAM_NAME, width=64, height=200)
    with pytest.raises(UsageError, match="must exceed 64 px"):
        ScreamDSprites(ScreamDSprites.Config(source="render"))


def test_data_info_says_where_the_scream_image_goes(cli, data_dir):
    result = cli("data", "info", "scream-dsprites", "--set", "source=render")
    assert result.exit_code == 2
    assert "scream.jpg: not found" in result.output and str(data_dir / SCREAM_NAME) in result.output
    write_picture(data_dir / SCREAM_NAME)
    result = cli("data", "info", "scream-dsprites", "--set", "source=render")
    assert result.exit_code == 0 and "scream.jpg: found" in result.output
    preview = cli("data", "preview", "scream-dsprites", "--set", "source=render", "--out", "scream.png", "--samples", "8")
    assert preview.exit_code == 0, preview.output
    assert (data_dir / "scream.png").read_bytes()[:4] == b"\x89PNG"
