"""dSprites (Matthey et al. 2017) and its two coloured variants.

Factors (indices, the released ``latents_classes`` without its colour column):
shape 3 (square, ellipse, heart), scale 6, orientation 40, x 32, y 32.
Observations are float32 ``(n, 1, 64, 64)`` in {0, 1} (``(n, 3, 64, 64)`` for the
coloured variants).

Pixels come from the released file when it is found (``data_dir`` option or
``$DISBENCH_DATA``), otherwise from the in-process renderer (:mod:`sprites`),
read from the cache that ``disbench data prepare dsprites`` writes when present.

Transformation groups. Content is the shape. ``grouping="split"`` (the default
for ``dsprites`` and ``color-dsprites-tint``) gives one style group per kind of
change, so every key is informative: ``scale``, ``orientation``, ``position``
(x and y). ``grouping="spatial"`` (the default for ``color-dsprites``, as in
Eastwood et al. 2023) puts scale, orientation, x and y in one ``spatial`` group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from disbench.datasets import dsprites_files, locations
from disbench.datasets.base import CONTENT, DatasetConfig, Factor
from disbench.datasets.grid import FactorGridDataset
from disbench.datasets.registry import DATASETS
from disbench.errors import UsageError

SPRITE_FACTORS = ("shape", "scale", "orientation", "x", "y")
GROUPINGS = {
    "split": {"shape": CONTENT, "scale": "scale", "orientation": "orientation", "x": "position", "y": "position"},
    "spatial": {"shape": CONTENT, "scale": "spatial", "orientation": "spatial", "x": "spatial", "y": "spatial"},
}

#: matplotlib's tab10 palette, RGB in [0, 1] (Eastwood et al. 2023 colour the sprites with it)
TAB10 = np.array(
    [
        [0x1F, 0x77, 0xB4], [0xFF, 0x7F, 0x0E], [0x2C, 0xA0, 0x2C], [0xD6, 0x27, 0x28], [0x94, 0x67, 0xBD],
        [0x8C, 0x56, 0x4B], [0xE3, 0x77, 0xC2], [0x7F, 0x7F, 0x7F], [0xBC, 0xBD, 0x22], [0x17, 0xBE, 0xCF],
    ],
    dtype=np.float32,
) / 255.0


@dataclass
class DSpritesConfig(DatasetConfig):
    """Attributes:
    source: ``auto`` (the released file if found, else rendered), ``file`` (the released
        file, an error without it) or ``render`` (always rendered in-process).
    data_dir: folder holding the released ``.npz`` (default ``$DISBENCH_DATA``).
    cache_dir: folder of the render cache (default ``$DISBENCH_CACHE`` or ``~/.cache/disbench``).
    use_cache: read rendered pixels from the cache when it exists (same pixels, faster start).
    grouping: ``split`` (scale / orientation / position style groups) or ``spatial`` (one group).
    """

    source: Literal["auto", "file", "render"] = "auto"
    data_dir: str | None = None
    cache_dir: str | None = None
    use_cache: bool = True
    grouping: Literal["split", "spatial"] = "split"

    def __post_init__(self) -> None:
        if self.source not in ("auto", "file", "render"):
            raise ValueError(f"source must be auto, file or render, got {self.source!r}")
        if self.grouping not in GROUPINGS:
            raise ValueError(f"grouping must be one of {', '.join(GROUPINGS)}, got {self.grouping!r}")


def open_sprite_source(config: DSpritesConfig) -> dsprites_files.SpriteSource:
    """The released file, the render cache or the renderer, as ``config.source`` asks."""
    released = None
    if config.source != "render":
        released = locations.find_file(dsprites_files.RELEASED_NAME, config.data_dir)
    if released is not None:
        return dsprites_files.released_source(released)
    if config.source == "file":
        where = locations.looked_for(dsprites_files.RELEASED_NAME, config.data_dir)[0]
        raise UsageError(
            f"dSprites file not found at {where}; download {dsprites_files.RELEASED_NAME} from "
            "https://github.com/google-deepmind/dsprites-dataset into that folder, or use source=render."
        )
    cache = locations.cache_dir(config.cache_dir) / dsprites_files.CACHE_NAME
    if config.use_cache and cache.is_file():
        return dsprites_files.cached_source(cache)
    return dsprites_files.rendered_source()


@DATASETS.register("dsprites")
class DSprites(FactorGridDataset):
    """Binary 64x64 sprites: shape, scale, orientation, x, y (Matthey et al. 2017)."""

    Config = DSpritesConfig
    summary = "dSprites 64x64 binary sprites, 737,280 images (released .npz, or rendered in-process)"
    channels = 1

    def __init__(self, config: DSpritesConfig | None = None) -> None:
        super().__init__(config)
        self.sprites = open_sprite_source(self.config)
        groups = GROUPINGS[self.config.grouping]
        self.factors = self.extra_factors() + [
            Factor(name, groups[name], size) for name, size in zip(SPRITE_FACTORS, self.sprites.sizes)
        ]
        self.style_groups = list(dict.fromkeys(f.group for f in self.factors if f.group != CONTENT))
        self.observation_shape = (self.channels, 64, 64)

    def extra_factors(self) -> list[Factor]:
        """Factors before the sprite's own (the colour of ``color-dsprites``)."""
        return []

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        indices = self.check_factors(factors)
        masks = self.sprites.masks(indices[:, -len(SPRITE_FACTORS):])
        return self.colourise(masks, indices, rng)

    def colourise(self, masks: np.ndarray, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Observations ``(n, C, 64, 64)`` float32 from uint8 masks ``(n, 64, 64)``."""
        return masks[:, None].astype(np.float32)

    @classmethod
    def locate_files(cls, config: DSpritesConfig) -> dict[str, Any]:
        """Where the released file and the render cache are looked for, and whether found."""
        cache = locations.cache_dir(config.cache_dir) / dsprites_files.CACHE_NAME
        return {
            "in use": None,
            dsprites_files.RELEASED_NAME: locations.file_status(dsprites_files.RELEASED_NAME, config.data_dir),
            "render cache": {"looked for": str(cache), "found": cache.is_file()},
        }

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "files": {**self.locate_files(self.config), "in use": self.sprites.origin}}


@dataclass
class ColorDSpritesConfig(DSpritesConfig):
    grouping: Literal["split", "spatial"] = "spatial"


@DATASETS.register("color-dsprites")
class ColorDSprites(DSprites):
    """dSprites in one of the 10 tab10 colours, colour a factor (Eastwood et al. 2023)."""

    Config = ColorDSpritesConfig
    summary = "dSprites coloured with one of 10 tab10 colours, colour a style factor (Eastwood et al. 2023)"
    channels = 3

    def extra_factors(self) -> list[Factor]:
        return [Factor("colour", "colour", len(TAB10))]

    def colourise(self, masks: np.ndarray, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return masks[:, None].astype(np.float32) * TAB10[factors[:, 0]][:, :, None, None]


@DATASETS.register("color-dsprites-tint")
class ColorDSpritesTint(DSprites):
    """dSprites times a random RGB tint, each channel uniform in [0.5, 1]; not a factor (dlib)."""

    summary = "dSprites times a random RGB tint in [0.5, 1]^3, tint not a factor (disentanglement_lib)"
    channels = 3

    def colourise(self, masks: np.ndarray, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        tint = rng.uniform(0.5, 1.0, size=(len(masks), 3)).astype(np.float32)
        return masks[:, None].astype(np.float32) * tint[:, :, None, None]
