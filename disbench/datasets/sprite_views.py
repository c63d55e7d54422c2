"""ColorDSprites views as in Eastwood et al. 2023: image augmentations of one image, shared per group.

The reference (``augmentations.py`` and ``configs/colordsprites/dataset.yaml`` of
cianeastwood/ssl_disentangled, medium strengths) augments one stored image into every
view with, in order:

- zoom (block ``zoom``): with probability 1/2 zoom out by padding 0-11 pixels (DetPad,
  ``0 .. int(64 * 0.1 * 2) - 1``), else zoom in by a centre crop of 32-64 pixels
  (DetCenterCrop, ``64 / 2 .. 64``), then a resize back to 64 pixels;
- translation (block ``translation``): up to 20% of the side in x and y, whole pixels
  (DetAffine, ``translate=(0.2, 0.2)``), black fill;
- rotation (block ``rotation``): with probability 1/2, an angle uniform in [-60, 60]
  degrees (DetRotation; the config's medium entry misspells ``degrees``, so its
  intended 60 is used), black fill;
- colour (block ``colour``): colour jitter always applied (brightness, contrast,
  saturation 0.6-1.4, hue -0.3-0.3), then grayscale with probability 0.2; see
  :class:`.augment.AppearanceGroup` (fixed order of the jitter operations, hue as a
  rotation in YIQ space);
- normalisation by the dataset's channel mean and standard deviation.

A view that shares a group with the query copies the parameters of that group's
blocks (DetCompose's pass-through); every other block is redrawn. Groups, by the
dataset's ``grouping``: ``spatial`` (the paper's) puts zoom, translation and rotation
in one ``spatial`` group, ``split`` gives ``scale`` (zoom), ``orientation`` (rotation)
and ``position`` (translation). The reference wraps the zoom in a ``DetChoice``, which
is not in its spatial pass-through list, so as written its zoom would be redrawn even
in the spatial key; here it is shared, as its ``TRANSFORM_GROUPS`` intend.

Zoom, translation and rotation are applied as one bilinear resampling of the image
(the reference resamples three times: bicubic, then nearest twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from disbench.datasets.augment import AppearanceGroup, Parameters

if TYPE_CHECKING:
    import torch

SIDE = 64
#: configs/colordsprites/dataset.yaml: aug_params.norm
CHANNEL_MEAN = np.array([0.0233, 0.0210, 0.0184], dtype=np.float32)
CHANNEL_STD = np.array([0.128, 0.106, 0.105], dtype=np.float32)
#: the dataset's style groups -> the augmentation blocks each one shares between views
GROUP_BLOCKS = {
    "spatial": {"colour": ("colour",), "spatial": ("zoom", "translation", "rotation")},
    "split": {"colour": ("colour",), "scale": ("zoom",), "orientation": ("rotation",), "position": ("translation",)},
}


@dataclass
class SpriteAugmentation:
    """Draws and applies the reference's ColorDSprites augmentations with recorded parameters."""

    max_padding: int = int(SIDE * 0.1 * 2.0) - 1  # scale strength 2 (medium)
    min_crop: int = int(SIDE / 2.0)
    translate: float = 0.2
    rotation_probability: float = 0.5
    max_degrees: float = 60.0
    colour: AppearanceGroup = field(
        default_factory=lambda: AppearanceGroup(
            SIDE, jitter_probability=1.0, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.3,
            grayscale_probability=0.2, blur_probability=0.0, solarize_probability=0.0, name="colour",
        )
    )

    def sample(self, block: str, n: int, rng: np.random.Generator) -> Parameters:
        """Parameters of one block for ``n`` images, each array ``(n,)``."""
        if block == "zoom":
            pad = rng.integers(0, self.max_padding + 1, size=n)
            crop = rng.integers(self.min_crop, SIDE + 1, size=n)
            zoom_in = rng.uniform(size=n) < 0.5
            # both are scalings about the centre: padding p shows 64 + 2p pixels in 64, a crop c shows c
            shown = np.where(zoom_in, crop, SIDE + 2 * pad).astype(np.float64)
            return {"zoom": SIDE / shown}
        if block == "translation":
            limit = self.translate * SIDE
            return {"shift_x": np.round(rng.uniform(-limit, limit, size=n)),
                    "shift_y": np.round(rng.uniform(-limit, limit, size=n))}
        if block == "rotation":
            rotate = rng.uniform(size=n) < self.rotation_probability
            angle = rng.uniform(-self.max_degrees, self.max_degrees, size=n)
            return {"degrees": np.where(rotate, angle, 0.0)}
        if block == "colour":
            return self.colour.sample(n, rng)
        raise ValueError(f"unknown augmentation block {block!r}")

    def sample_all(self, n: int, rng: np.random.Generator) -> dict[str, Parameters]:
        return {block: self.sample(block, n, rng) for block in ("zoom", "translation", "rotation", "colour")}

    def apply(self, images: "torch.Tensor", params: dict[str, Parameters]) -> "torch.Tensor":
        """``(n, 3, 64, 64)`` images in [0, 1] -> augmented, normalised float32 images."""
        import torch
        import torch.nn.functional as F

        n = len(images)
        scale = torch.as_tensor(params["zoom"]["zoom"], dtype=images.dtype)
        angle = torch.as_tensor(np.deg2rad(params["rotation"]["degrees"]), dtype=images.dtype)
        # grid_sample's coordinates run over [-1, 1]: a shift of s pixels is 2 s / 64
        shift = torch.as_tensor(np.stack([params["translation"]["shift_x"], params["translation"]["shift_y"]], 1),
                                dtype=images.dtype) * 2 / SIDE
        cos, sin = torch.cos(angle), torch.sin(angle)
        # output pixel u shows source pixel (R^-1 u - t) / s: zoom first, then shift, then rotate
        theta = torch.zeros(n, 2, 3, dtype=images.dtype)
        theta[:, 0, 0], theta[:, 0, 1] = cos / scale, sin / scale
        theta[:, 1, 0], theta[:, 1, 1] = -sin / scale, cos / scale
        theta[:, :, 2] = -shift / scale[:, None]
        grid = F.affine_grid(theta, [n, 3, SIDE, SIDE], align_corners=False)
        moved = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        coloured = self.colour.apply(moved.clamp(0, 1), params["colour"]).clamp(0, 1)
        return normalise(coloured)


def normalise(images: "torch.Tensor") -> "torch.Tensor":
    """Subtract the channel mean and divide by the channel standard deviation (the reference's inputs)."""
    import torch

    mean = torch.as_tensor(CHANNEL_MEAN, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.as_tensor(CHANNEL_STD, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean) / std


def shared_parameters(
    query: dict[str, Parameters], shared_blocks: tuple[str, ...], augmentation: SpriteAugmentation,
    n: int, rng: np.random.Generator,
) -> dict[str, Parameters]:
    """A key's parameters: the query's for ``shared_blocks``, a fresh draw for every other block."""
    return {block: (query[block] if block in shared_blocks else augmentation.sample(block, n, rng)) for block in query}
