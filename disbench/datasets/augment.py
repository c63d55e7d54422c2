"""Augmentation groups with explicit, recorded parameters (for image folders).

Each group draws its parameters for a batch as plain NumPy arrays (one value per
image) from the generator it is given, and applies them to a batch of images in
one vectorised pass. Because the parameters are explicit, two views can share
exactly one group's parameters and redraw the others, and the parameters of
every view are kept for later evaluation (how much of each parameter a space
encodes, e.g. the R^2 of a linear probe).

- ``spatial``: random resized crop (torchvision's sampling: area fraction in
  ``crop_scale``, log-uniform aspect ratio in [3/4, 4/3], ten tries then the whole
  image) and a horizontal flip with probability 1/2, applied together as one
  bilinear resampling (``grid_sample``).
- ``appearance`` (SimCLR/BYOL recipe): with probability 0.8 colour jitter
  (brightness, contrast, saturation in [0.6, 1.4], hue in [-0.1, 0.1], in that
  fixed order; hue is a rotation of the chroma plane in YIQ space, close to
  torchvision's HSV shift), grayscale with probability 0.2, Gaussian blur with
  probability 0.5 (sigma 0.1 to 2.0 pixels at 224 px, scaled with the image
  size), solarisation (x -> 1 - x above 0.5) with probability 0.1.

``appearance_groups(size, "asymmetric")`` gives the BYOL-style pair that Eastwood et
al.'s ImageNet configs use (``aug_type: asymmetric``, medium strength): the query
always blurred and never solarised, every key blurred with probability 0.1 and
solarised with probability 0.2, saturation jitter 0.2 on both; a key that shares
the appearance group copies the query's parameters, so it is blurred as the query.

Recorded parameters are the effective ones: a jitter that was not applied is
recorded as brightness = contrast = saturation = 1, hue = 0; no blur as sigma 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

Parameters = dict[str, np.ndarray]
_LUMA = (0.299, 0.587, 0.114)


@dataclass
class SpatialGroup:
    """Random resized crop + horizontal flip, to ``size`` x ``size`` pixels."""

    size: int
    crop_scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_probability: float = 0.5
    name: str = "spatial"

    def sample(self, n: int, rng: np.random.Generator) -> Parameters:
        """Crop boxes (fractions of the source image) and flips, each of shape ``(n,)``."""
        tries = 10
        area = rng.uniform(*self.crop_scale, size=(n, tries))
        log_ratio = rng.uniform(np.log(self.ratio[0]), np.log(self.ratio[1]), size=(n, tries))
        width = np.sqrt(area * np.exp(log_ratio))
        height = np.sqrt(area / np.exp(log_ratio))
        fits = (width <= 1) & (height <= 1)
        first = fits.argmax(axis=1)
        found = fits.any(axis=1)
        rows = np.arange(n)
        width = np.where(found, width[rows, first], 1.0)
        height = np.where(found, height[rows, first], 1.0)
        left = rng.uniform(size=n) * (1 - width)
        top = rng.uniform(size=n) * (1 - height)
        flip = rng.uniform(size=n) < self.flip_probability
        return {"crop_top": top, "crop_left": left, "crop_height": height, "crop_width": width,
                "flip": flip.astype(np.float64)}

    def apply(self, images: "torch.Tensor", params: Parameters) -> "torch.Tensor":
        """``(n, C, H, W)`` float -> ``(n, C, size, size)``: crop, flip and resize in one resampling."""
        import torch
        import torch.nn.functional as F

        def column(key: str) -> torch.Tensor:
            return torch.as_tensor(params[key], dtype=images.dtype)

        width, height = column("crop_width"), column("crop_height")
        centre_x = 2 * (column("crop_left") + width / 2) - 1  # grid_sample works in [-1, 1]
        centre_y = 2 * (column("crop_top") + height / 2) - 1
        mirror = 1 - 2 * column("flip")
        theta = torch.zeros(len(images), 2, 3, dtype=images.dtype)
        theta[:, 0, 0] = width * mirror
        theta[:, 0, 2] = centre_x
        theta[:, 1, 1] = height
        theta[:, 1, 2] = centre_y
        grid = F.affine_grid(theta, [len(images), images.shape[1], self.size, self.size], align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _gray(images: "torch.Tensor") -> "torch.Tensor":
    r, g, b = images.unbind(1)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(1)


def _per_image(values: np.ndarray, like: "torch.Tensor") -> "torch.Tensor":
    import torch

    return torch.as_tensor(values, dtype=like.dtype).view(-1, 1, 1, 1)


@dataclass
class AppearanceGroup:
    """Colour jitter, grayscale, Gaussian blur and solarisation, with recorded parameters."""

    size: int
    jitter_probability: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    grayscale_probability: float = 0.2
    blur_probability: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)  # pixels at 224 px
    solarize_probability: float = 0.1
    name: str = "appearance"

    def sample(self, n: int, rng: np.random.Generator) -> Parameters:
        """Effective jitter factors, grayscale and solarise flags and blur sigma, each ``(n,)``."""
        jitter = rng.uniform(size=n) < self.jitter_probability

        def factor(strength: float, centre: float) -> np.ndarray:
            return np.where(jitter, rng.uniform(centre - strength, centre + strength, size=n), centre)

        brightness, contrast = factor(self.brightness, 1.0), factor(self.contrast, 1.0)
        saturation, hue = factor(self.saturation, 1.0), factor(self.hue, 0.0)
        grayscale = rng.uniform(size=n) < self.grayscale_probability
        blur = rng.uniform(size=n) < self.blur_probability
        sigma = np.where(blur, rng.uniform(*self.blur_sigma, size=n) * self.size / 224, 0.0)
        solarize = rng.uniform(size=n) < self.solarize_probability
        return {"brightness": brightness, "contrast": contrast, "saturation": saturation, "hue": hue,
                "grayscale": grayscale.astype(np.float64), "blur_sigma": sigma,
                "solarize": solarize.astype(np.float64)}

    def apply(self, images: "torch.Tensor", params: Parameters) -> "torch.Tensor":
        """Apply to RGB ``(n, 3, H, W)`` floats in [0, 1]; same shape out, in [0, 1]."""
        import torch

        x = (images * _per_image(params["brightness"], images)).clamp(0, 1)
        mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * _per_image(params["contrast"], x) + mean).clamp(0, 1)
        gray = _gray(x)
        x = ((x - gray) * _per_image(params["saturation"], x) + gray).clamp(0, 1)
        x = self._rotate_hue(x, params["hue"]).clamp(0, 1)
        x = torch.where(_per_image(params["grayscale"], x) > 0, _gray(x).expand_as(x), x)
        x = self._blur(x, params["blur_sigma"])
        return torch.where((_per_image(params["solarize"], x) > 0) & (x >= 0.5), 1 - x, x)

    @staticmethod
    def _rotate_hue(x: "torch.Tensor", hue: np.ndarray) -> "torch.Tensor":
        import torch

        to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
                              dtype=x.dtype)
        angle = torch.as_tensor(hue * 2 * np.pi, dtype=x.dtype)
        cos, sin = torch.cos(angle), torch.sin(angle)
        rotation = torch.zeros(len(x), 3, 3, dtype=x.dtype)
        rotation[:, 0, 0] = 1
        rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
        rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
        matrix = torch.linalg.inv(to_yiq) @ rotation @ to_yiq  # (n, 3, 3), one per image
        return torch.einsum("nij,njhw->nihw", matrix, x)

    def _blur(self, x: "torch.Tensor", sigma: np.ndarray) -> "torch.Tensor":
        import torch
        import torch.nn.functional as F

        if not np.any(sigma > 0):
            return x
        radius = max(1, int(np.ceil(0.05 * self.size)))  # kernel ~10% of the image, as SimCLR
        offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
        safe = torch.as_tensor(np.where(sigma > 0, sigma, 1.0), dtype=x.dtype)
        kernel = torch.exp(-0.5 * (offsets[None, :] / safe[:, None]) ** 2)
        kernel = torch.where(torch.as_tensor(sigma > 0)[:, None], kernel, (offsets == 0).to(x.dtype)[None, :])
        kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (n, k); no blur = a unit impulse
        n, c, h, w = x.shape
        weights = kernel.repeat_interleave(c, dim=0)  # one kernel per (image, channel)
        flat = F.pad(x.reshape(1, n * c, h, w), (radius, radius, radius, radius), mode="reflect")
        flat = F.conv2d(flat, weights.view(n * c, 1, 1, -1), groups=n * c)
        flat = F.conv2d(flat, weights.view(n * c, 1, -1, 1), groups=n * c)
        return flat.reshape(n, c, h, w)


#: appearance settings of the query view and of the key views, by ``appearance`` option
APPEARANCE_SETTINGS: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "symmetric": ({}, {}),
    # configs/imagenet/dataset.yaml of Eastwood et al., asymmetric, medium: blur p [1.0, 0.1],
    # solarisation p [0, 0.2], colour jitter 0.4/0.4/0.2/0.1 with p 0.8, grayscale p 0.2
    "asymmetric": (
        {"saturation": 0.2, "blur_probability": 1.0, "solarize_probability": 0.0},
        {"saturation": 0.2, "blur_probability": 0.1, "solarize_probability": 0.2},
    ),
}


def appearance_groups(size: int, appearance: str) -> tuple[AppearanceGroup, AppearanceGroup]:
    """The appearance group that draws the query's parameters and the one that draws the keys'.

    Args:
        size: image side in pixels.
        appearance: ``symmetric`` (one recipe for every view) or ``asymmetric`` (BYOL's
            split between the two branches, as Eastwood et al.'s ImageNet runs).
    """
    if appearance not in APPEARANCE_SETTINGS:
        raise ValueError(f"appearance must be one of {', '.join(APPEARANCE_SETTINGS)}, got {appearance!r}")
    query, key = APPEARANCE_SETTINGS[appearance]
    return AppearanceGroup(size, **query), AppearanceGroup(size, **key)
