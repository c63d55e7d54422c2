"""A rendered dSprites image shows the sprite its factors name, checked by geometry alone.

The expected values come from the generative specification (the released grid: scale
0.5 to 1 in 6 steps, orientation 0 to 2 pi in 40 steps, positions one pixel apart; the
shapes' sizes at scale 1 as docs/datasets.md and the renderer's docstring state: a square
of side 19, an ellipse with semi-axes 11 x 5.5, the classic heart curve 20 pixels wide),
never from the renderer's own tables: areas from the formulas (the heart's by the
shoelace formula over its parametric curve), symmetries of each shape, bounding-box
ratios between scales, the principal axis of the ellipse for its orientation, and the
centre of the sprite for its position. Indexing the sprite table in the wrong order, a
turned rotation, or swapped coordinates each break one of these.
"""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.dsprites import DSprites, DSpritesConfig

SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40)
CENTRE = 16  # position index k puts the sprite centre on pixel 16 + k


def heart_area_at_scale_one() -> float:
    """Area of x = 16 sin^3 t, y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t, scaled to width 20."""
    t = np.linspace(0.0, 2 * np.pi, 20_001)
    x = 16 * np.sin(t) ** 3
    y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    area = 0.5 * abs(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))
    return area * (20.0 / 32.0) ** 2


AREA_AT_SCALE_ONE = {"square": 19.0**2, "ellipse": np.pi * 11.0 * 5.5, "heart": heart_area_at_scale_one()}
PERIMETER_AT_SCALE_ONE = {"square": 4 * 19.0, "ellipse": 2 * np.pi * np.sqrt((11.0**2 + 5.5**2) / 2), "heart": 80.0}


@pytest.fixture(scope="module")
def render():
    dataset = DSprites(DSpritesConfig(source="render"))

    def images(shape: int, scale: int, orientation: int = 0, x: int = 15, y: int = 15) -> np.ndarray:
        factors = np.array([[shape, scale, orientation, x, y]])
        return dataset.observations_from_factors(factors, np.random.default_rng(0))[0, 0]

    return images


def crop(image: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(image)
    return image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


@pytest.mark.parametrize("shape", range(3))
@pytest.mark.parametrize("scale", range(6))
def test_pixel_area_equals_the_shape_area_at_its_scale(render, shape, scale):
    name, s = SHAPES[shape], SCALES[scale]
    expected = AREA_AT_SCALE_ONE[name] * s**2
    # rasterising moves the boundary by at most half a pixel: the error is bounded by half the perimeter
    tolerance = 0.5 * PERIMETER_AT_SCALE_ONE[name] * s
    assert abs(render(shape, scale).sum() - expected) <= tolerance, (name, s)


def test_area_ratios_between_shapes_and_scales(render):
    areas = np.array([[render(shape, scale).sum() for scale in range(6)] for shape in range(3)], dtype=float)
    # between shapes at scale 1: square 361, ellipse 190, heart ~ 221
    expected = np.array([AREA_AT_SCALE_ONE[name] for name in SHAPES])
    np.testing.assert_allclose(areas[:, 5] / areas[0, 5], expected / expected[0], atol=0.03)
    # between scales: area grows with the square of the scale
    np.testing.assert_allclose(areas / areas[:, 5:], np.tile(SCALES**2, (3, 1)), atol=0.06)


def test_bounding_box_grows_in_proportion_to_the_scale(render):
    for shape, width_at_one, height_at_one in ((0, 19.0, 19.0), (1, 22.0, 11.0), (2, 20.0, None)):
        for scale in range(6):
            height, width = crop(render(shape, scale)).shape
            # a sprite centred on a pixel spans an odd number of pixels: within 1.5 of its true extent
            assert abs(width - width_at_one * SCALES[scale]) <= 1.5, (SHAPES[shape], scale, width)
            if height_at_one is not None:
                assert abs(height - height_at_one * SCALES[scale]) <= 1.5, (SHAPES[shape], scale, height)
        widths = [crop(render(shape, scale)).shape[1] for scale in range(6)]
        np.testing.assert_allclose(np.array(widths) / widths[-1], SCALES, atol=0.08)


@pytest.mark.parametrize("scale", [0, 3, 5])
def test_each_shape_has_its_own_symmetries_at_orientation_zero(render, scale):
    square, ellipse, heart = (crop(render(shape, scale)) for shape in range(3))
    # square: both mirror images and the quarter turn
    assert np.array_equal(square, square[:, ::-1]) and np.array_equal(square, square[::-1])
    assert np.array_equal(square, square.T)
    # ellipse: both mirrors, but twice as wide as tall, long axis horizontal
    assert np.array_equal(ellipse, ellipse[:, ::-1]) and np.array_equal(ellipse, ellipse[::-1])
    assert ellipse.shape[1] > 1.7 * ellipse.shape[0]
    # heart: left-right mirror only; lobes up (more area in the top half), point down
    assert np.abs(heart.astype(int) - heart[:, ::-1]).sum() <= 2
    top, bottom = heart[: heart.shape[0] // 2].sum(), heart[-(heart.shape[0] // 2) :].sum()
    assert top > 1.3 * bottom
    runs = lambda row: int(np.sum(np.diff(np.concatenate([[0], row.astype(int), [0]])) == 1))  # noqa: E731
    assert runs(heart[0]) == 2  # two lobes at the top
    assert runs(heart[-1]) == 1 and heart[-1, heart.shape[1] // 2] == 1  # one point at the bottom, centred


def principal_axis_angle(image: np.ndarray) -> float:
    """Angle of the long axis in [0, pi), counter-clockwise from the image's x axis, as seen on screen."""
    rows, cols = np.nonzero(image)
    u, v = cols - cols.mean(), -(rows - rows.mean())  # screen coordinates, y up
    covariance = np.cov(np.stack([u, v]))
    values, vectors = np.linalg.eigh(covariance)
    long_axis = vectors[:, np.argmax(values)]
    return float(np.arctan2(long_axis[1], long_axis[0]) % np.pi)


@pytest.mark.parametrize("orientation", range(0, 40, 3))
def test_orientation_turns_the_ellipse_counter_clockwise_by_its_angle(render, orientation):
    found = principal_axis_angle(render(1, 5, orientation))
    expected = ORIENTATIONS[orientation] % np.pi
    difference = abs(found - expected) % np.pi
    assert min(difference, np.pi - difference) < np.radians(4), (orientation, np.degrees(found), np.degrees(expected))


def test_quarter_turn_moves_the_heart_point_to_the_right(render):
    # orientation 10 is 92 degrees counter-clockwise: the point (down at 0) turns to the right,
    # so the heavier lobes sit left of the bounding-box centre
    heart = crop(render(2, 5, 10))
    cols = np.nonzero(heart)[1]
    assert cols.mean() < (heart.shape[1] - 1) / 2 - 1.0


@pytest.mark.parametrize("x, y", [(0, 31), (31, 0), (7, 20), (15, 15)])
def test_position_puts_the_centre_on_pixel_16_plus_index_x_columns_y_rows(render, x, y):
    image = render(0, 2, 0, x, y)  # a square is centred on its bounding box
    rows, cols = np.nonzero(image)
    assert (rows.min() + rows.max()) / 2 == CENTRE + y
    assert (cols.min() + cols.max()) / 2 == CENTRE + x
