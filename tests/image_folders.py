"""Tiny image folders in ImageNet layout for the tests that read one."""

from __future__ import annotations

import numpy as np
from PIL import Image

CLASS_COLOURS = {"apple": (220, 30, 30), "leaf": (30, 200, 40), "sky": (40, 60, 230)}


def make_image_folder(root, per_class=3):
    """Class folders of small JPEG/PNG images, each class one flat colour with a white corner mark."""
    for name, colour in CLASS_COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.empty((48 + 8 * i, 60, 3), np.uint8)
            pixels[:] = colour
            pixels[:12, :12] = 255  # a mark in the top-left corner shows flips and crops
            Image.fromarray(pixels).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}", quality=95)
    return root
