"""Rendering dSprites images from the generative spec (square, ellipse, heart).

The grid is the released one: 3 shapes x 6 scales (0.5 to 1) x 40 orientations
(0 to 2 pi, endpoint included as in the released file) x 32 x 32 positions on
a 64 x 64 canvas. Geometry, in pixels, chosen to look like the released sprites
(pixels may differ from the released file; the dataset card says so):

- position index k (0..31) puts the sprite centre on the centre of pixel
  ``16 + k`` (row for y, column for x): one pixel per step, as the released
  file's "smallest step that changes the pixels", and every sprite stays inside;
- at scale 1 the square has side 19, the ellipse semi-axes 11 x 5.5 (long axis
  horizontal at orientation 0), the heart a width of 20;
- the heart is the classic curve x = 16 sin^3 t,
  y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t (lobes up, point down), centred
  on its bounding box;
- orientation turns the sprite counter-clockwise as seen on screen;
- each pixel is covered by 4 x 4 sub-samples and set when at least half are
  inside the shape (a binary image, as the released one).

Since position only translates, each of the 3 x 6 x 40 = 720 (shape, scale,
orientation) sprites is rasterised once into a 33 x 33 patch, and rendering a
batch is a gather: the patch is written at offset (y, x) of an empty canvas.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import as_strided

CANVAS = 64
PATCH = 33  # odd: the sprite centre is the centre of the middle pixel
SHAPES = ("square", "ellipse", "heart")
NUM_SCALES, NUM_ORIENTATIONS, NUM_POSITIONS = 6, 40, 32
GRID_SIZES = (len(SHAPES), NUM_SCALES, NUM_ORIENTATIONS, NUM_POSITIONS, NUM_POSITIONS)
SCALE_VALUES = np.linspace(0.5, 1.0, NUM_SCALES)
ORIENTATION_VALUES = np.linspace(0.0, 2 * np.pi, NUM_ORIENTATIONS)
POSITION_VALUES = np.linspace(0.0, 1.0, NUM_POSITIONS)
#: bump when the pixels change, so stale caches are not used
RENDERER_VERSION = 1

SQUARE_HALF_SIDE = 9.5
ELLIPSE_SEMI_AXES = (11.0, 5.5)
HEART_HALF_WIDTH = 10.0
SUPERSAMPLE = 4


def heart_outline(num_points: int = 2048) -> np.ndarray:
    """The heart curve at scale 1, centred on its bounding box, y up; shape ``(num_points, 2)``."""
    t = np.linspace(0.0, 2 * np.pi, num_points, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    points = np.stack([x, y], axis=1) * (HEART_HALF_WIDTH / 16.0)
    return points - (points.max(axis=0) + points.min(axis=0)) / 2


@lru_cache(maxsize=1)
def _heart_polar_radius() -> tuple[np.ndarray, np.ndarray]:
    """The heart as a radius per polar angle about its centre (it is star-shaped about it)."""
    outline = heart_outline()
    angles = np.arctan2(outline[:, 1], outline[:, 0])
    order = np.argsort(angles)
    return angles[order], np.hypot(outline[:, 0], outline[:, 1])[order]


def inside_shape(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether points ``(u, v)`` (pixels from the centre, sprite frame, y up, scale 1) are inside."""
    if SHAPES[shape] == "square":
        return (np.abs(u) <= SQUARE_HALF_SIDE) & (np.abs(v) <= SQUARE_HALF_SIDE)
    if SHAPES[shape] == "ellipse":
        a, b = ELLIPSE_SEMI_AXES
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0
    angles, radii = _heart_polar_radius()
    boundary = np.interp(np.arctan2(v, u), angles, radii, period=2 * np.pi)
    return np.hypot(u, v) <= boundary


@lru_cache(maxsize=1)
def sprite_patches() -> np.ndarray:
    """Every (shape, scale, orientation) sprite, shape ``(3 * 6 * 40, 33, 33)`` uint8 in {0, 1}.

    Row-major over (shape, scale, orientation), like the released ordering.
    """
    offsets = (np.arange(PATCH * SUPERSAMPLE) + 0.5) / SUPERSAMPLE - PATCH / 2  # sub-sample centres
    right = offsets[None, :]  # image x grows to the right
    up = -offsets[:, None]  # image rows grow downwards; the sprite frame is y up
    patches = np.empty((len(SHAPES), NUM_SCALES, NUM_ORIENTATIONS, PATCH, PATCH), dtype=np.uint8)
    cos, sin = np.cos(ORIENTATION_VALUES), np.sin(ORIENTATION_VALUES)
    for scale_index, scale in enumerate(SCALE_VALUES):
        # turning the sprite by +theta is turning the sample points by -theta; divide by scale
        # instead of scaling the shape, so each shape needs one membership test
        u = (cos[:, None, None] * right + sin[:, None, None] * up) / scale
        v = (-sin[:, None, None] * right + cos[:, None, None] * up) / scale
        for shape in range(len(SHAPES)):
            covered = inside_shape(shape, u, v).reshape(
                NUM_ORIENTATIONS, PATCH, SUPERSAMPLE, PATCH, SUPERSAMPLE
            )
            coverage = covered.mean(axis=(2, 4))
            patches[shape, scale_index] = coverage >= 0.5
    return patches.reshape(-1, PATCH, PATCH)


def render_sprites(factors: np.ndarray) -> np.ndarray:
    """Binary dSprites images for factor indices.

    Args:
        factors: integer indices, shape ``(n, 5)``: shape, scale, orientation, x, y.

    Returns:
        uint8 images in {0, 1}, shape ``(n, 64, 64)``.
    """
    factors = np.asarray(factors, dtype=np.int64)
    shape, scale, orientation, x, y = factors.T
    patch_index = (shape * NUM_SCALES + scale) * NUM_ORIENTATIONS + orientation
    n = len(factors)
    images = np.zeros((n, CANVAS, CANVAS), dtype=np.uint8)
    # windows[i, y, x] is the 33 x 33 view of image i whose top-left pixel is (y, x): writing a
    # patch there copies whole rows, ten times faster than scattering single pixels
    s_image, s_row, s_col = images.strides
    windows = as_strided(
        images, shape=(n, NUM_POSITIONS, NUM_POSITIONS, PATCH, PATCH),
        strides=(s_image, s_row, s_col, s_row, s_col), writeable=True,
    )
    windows[np.arange(n), y, x] = sprite_patches()[patch_index]
    return images
