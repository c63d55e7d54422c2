"""ColorDSprites views as in Eastwood et al.: augmentations of one image, a group's parameters shared.

Measured from the images themselves: a key that shares the spatial group shows the sprite
where the query shows it, a key that shares the colour group shows it in the query's colour.
"""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets import DATASETS
from disbench.datasets.dsprites import TRAIN_FRACTION
from disbench.datasets.sprite_views import CHANNEL_MEAN, CHANNEL_STD, SpriteAugmentation

N = 96


def color_dsprites(**options):
    cls = DATASETS.get("color-dsprites")
    return cls(cls.Config(source="render", **options))


@pytest.fixture(scope="module")
def views():
    return color_dsprites().sample_views(N, np.random.default_rng(0))


def measure(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image: the sprite's centroid (row, col), its pixel count and its mean RGB, in [0, 1] units."""
    rgb = images * CHANNEL_STD[None, :, None, None] + CHANNEL_MEAN[None, :, None, None]
    luminance = rgb.mean(axis=1)
    background = np.median(luminance.reshape(len(rgb), -1), axis=1)
    mask = luminance > background[:, None, None] + 0.04
    rows, cols = np.indices(mask.shape[1:])
    area = mask.sum(axis=(1, 2))
    safe = np.maximum(area, 1)
    centroid = np.stack([(mask * rows).sum(axis=(1, 2)) / safe, (mask * cols).sum(axis=(1, 2)) / safe], axis=1)
    colour = (rgb * mask[:, None]).sum(axis=(2, 3)) / safe[:, None]
    return centroid, area, colour


def test_keys_share_exactly_their_groups_position_size_and_colour(views):
    query_centre, query_area, query_colour = measure(views.query)
    found = query_area > 20  # a sprite zoomed and shifted out of the frame has nothing to measure
    assert found.mean() > 0.9

    def differences(key: np.ndarray) -> tuple[float, float, float]:
        centre, area, colour = measure(key)
        both = found & (area > 20)
        return (
            float(np.median(np.abs(centre - query_centre)[both].max(axis=1))),
            float(np.median(np.abs(area / np.maximum(query_area, 1) - 1)[both])),
            float(np.median(np.abs(colour - query_colour)[both].max(axis=1))),
        )

    spatial_shift, spatial_area, spatial_colour = differences(views.group_keys["spatial"])
    colour_shift, colour_area, colour_colour = differences(views.group_keys["colour"])
    content_shift, content_area, content_colour = differences(views.content_key)
    # the spatial key: same place and size, another colour
    assert spatial_shift < 0.5 and spatial_area < 0.05 and spatial_colour > 0.1
    # the colour key: the same colour, elsewhere and at another size
    assert colour_colour < 0.03 and colour_shift > 3 and colour_area > 0.15
    # the content key shares neither
    assert content_shift > 3 and content_area > 0.15 and content_colour > 0.1


def test_training_views_come_from_the_train_split_and_evaluation_from_the_held_out_ten_percent():
    dataset = color_dsprites()
    train, held_out, colours = dataset.split
    total = 737_280
    assert len(train) == int(TRAIN_FRACTION * total) and len(train) + len(held_out) == total
    assert np.intersect1d(train, held_out).size == 0
    sizes = dataset.sprites.sizes
    views = dataset.sample_views(500, np.random.default_rng(1))
    drawn = np.ravel_multi_index(tuple(views.query_factors[:, 1:].T), sizes)
    assert np.isin(drawn, train).all()
    np.testing.assert_array_equal(views.query_factors[:, 0], colours[drawn])  # one fixed colour per image
    _, factors = dataset.sample(500, np.random.default_rng(2))
    evaluated = np.ravel_multi_index(tuple(factors[:, 1:].T), sizes)
    assert np.isin(evaluated, held_out).all() and not np.isin(evaluated, train).any()
    assert np.bincount(colours, minlength=10).min() > 0.09 * total  # colours uniform over the ten


def test_inputs_are_normalised_as_the_reference_normalises_them():
    images, factors = color_dsprites().sample(64, np.random.default_rng(3))
    raw, _ = color_dsprites(views="factors").sample(1, np.random.default_rng(3))
    restored = images * CHANNEL_STD[None, :, None, None] + CHANNEL_MEAN[None, :, None, None]
    assert restored.min() >= -1e-5 and restored.max() <= 1 + 1e-5
    background = images[:, :, 0, 0]  # the corner pixel is black: (0 - mean) / std
    np.testing.assert_allclose(background, np.broadcast_to(-CHANNEL_MEAN / CHANNEL_STD, background.shape), rtol=1e-5)
    assert raw.min() >= 0 and raw.max() <= 1


def test_factor_views_stay_available_and_unnormalised():
    dataset = color_dsprites(views="factors")
    views = dataset.sample_views(16, np.random.default_rng(4))
    assert views.query.min() >= 0 and views.query.max() <= 1
    # the colour key re-renders the query's colour factor: its brightest pixels have the query's colour
    np.testing.assert_allclose(views.query.max(axis=(2, 3)), views.group_keys["colour"].max(axis=(2, 3)))


def test_split_grouping_maps_scale_orientation_and_position_to_zoom_rotation_and_translation():
    dataset = color_dsprites(grouping="split")
    assert dataset.style_groups == ["colour", "scale", "orientation", "position"]
    views = dataset.sample_views(48, np.random.default_rng(5))
    query_centre, query_area, _ = measure(views.query)
    position_centre, position_area, _ = measure(views.group_keys["position"])
    scale_centre, scale_area, _ = measure(views.group_keys["scale"])
    both = (query_area > 20) & (position_area > 20) & (scale_area > 20)
    # the position key shares the shift but not the zoom; the scale key the zoom but not the shift
    assert np.median(np.abs(scale_area / query_area - 1)[both]) < 0.05
    assert np.median(np.abs(position_area / query_area - 1)[both]) > 0.15
    assert np.median(np.abs(scale_centre - query_centre)[both].max(axis=1)) > 3


def test_augmentation_ranges_are_the_reference_medium_strengths():
    augmentation = SpriteAugmentation()
    rng = np.random.default_rng(6)
    zoom = augmentation.sample("zoom", 20_000, rng)["zoom"]
    assert zoom.min() == pytest.approx(64 / (64 + 2 * 11)) and zoom.max() == pytest.approx(2.0)  # pad 0-11, crop 32-64
    assert np.mean(zoom > 1) == pytest.approx(0.5 * 32 / 33, abs=0.02)  # crops below 64 zoom in
    shift = augmentation.sample("translation", 20_000, rng)
    assert np.abs(shift["shift_x"]).max() == pytest.approx(13) and np.all(shift["shift_y"] == np.round(shift["shift_y"]))
    degrees = augmentation.sample("rotation", 20_000, rng)["degrees"]
    assert np.mean(degrees == 0) == pytest.approx(0.5, abs=0.02) and np.abs(degrees).max() <= 60
    colour = augmentation.sample("colour", 20_000, rng)
    assert colour["hue"].min() >= -0.3 and colour["hue"].max() <= 0.3 and np.abs(colour["hue"]).max() > 0.29
    assert np.mean(colour["grayscale"]) == pytest.approx(0.2, abs=0.02)
    assert colour["brightness"].min() >= 0.6 and colour["brightness"].max() <= 1.4 and (colour["brightness"] != 1).all()
