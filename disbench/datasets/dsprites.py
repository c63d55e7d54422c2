"""dSprites (Matthey et al. 2017), its coloured variants, and dlib's noisy and scream backgrounds.

Factors (indices, the released ``latents_classes`` without its colour column):
shape 3 (square, ellipse, heart), scale 6, orientation 40, x 32, y 32.
Observations are float32 ``(n, 1, 64, 64)`` in {0, 1} (``(n, 3, 64, 64)`` for the
coloured variants).

Pixels come from the released file when it is found (``data_dir`` option or
``$DISBENCH_DATA``), otherwise from the in-process renderer (:mod:`sprites`),
read from the cache that ``disbench data prepare dsprites`` writes when present.

disentanglement_lib's variants recolour each observation with draws from the generator
passed to ``observations_from_factors`` (same seed, same pixels): ``color-dsprites-tint``
multiplies the sprite by a random RGB tint, ``noisy-dsprites`` puts it on uniform noise,
``scream-dsprites`` inverts it into a random crop of a user-supplied image of The Scream.

Transformation groups. Content is the shape. ``grouping="split"`` (the default
for ``dsprites`` and ``color-dsprites-tint``) gives one style group per kind of
change, so every key is informative: ``scale``, ``orientation``, ``position``
(x and y). ``grouping="spatial"`` (the default for ``color-dsprites``, as in
Eastwood et al. 2023) puts scale, orientation, x and y in one ``spatial`` group.

ColorDSprites views. ``views="augment"`` (the default, as Eastwood et al.): the views
are image augmentations of one stored image (:mod:`sprite_views`), drawn from a 90%
train split of the 737,280 sprites, each sprite with one fixed random colour (as the
reference's dataset), inputs normalised by the channel mean and standard deviation;
evaluation samples are the held-out 10%, normalised alike. ``views="factors"``
(disbench's earlier views): keys re-render the query's factors with every other
group's factors redrawn, over the whole grid, inputs in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from disbench.datasets import dsprites_files, locations
from disbench.datasets.base import CONTENT, DatasetConfig, Factor, Views
from disbench.datasets.grid import FactorGridDataset
from disbench.datasets.registry import DATASETS
from disbench.datasets.sprite_views import CHANNEL_MEAN, CHANNEL_STD, GROUP_BLOCKS, SpriteAugmentation, shared_parameters
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
    cache_dir: folder of the render cache (default ``$DISBENCH_CACHE``, else the user cache folder, ``$XDG_CACHE_HOME/disbench`` on Linux).
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


#: share of the sprites the reference trains on (``train_proportion`` of its dSprites dataset)
TRAIN_FRACTION = 0.9


@dataclass
class ColorDSpritesConfig(DSpritesConfig):
    """Attributes:
    views: ``augment`` (Eastwood et al.'s image augmentations of one image, on the 90% train
        split, normalised inputs) or ``factors`` (keys re-rendered from redrawn factors).
    split_seed: seed of the train/held-out split and of each sprite's colour (``augment``).
    """

    grouping: Literal["split", "spatial"] = "spatial"
    views: Literal["augment", "factors"] = "augment"
    split_seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.views not in ("augment", "factors"):
            raise ValueError(f"views must be augment or factors, got {self.views!r}")


@DATASETS.register("color-dsprites")
class ColorDSprites(DSprites):
    """dSprites in one of the 10 tab10 colours, colour a factor (Eastwood et al. 2023)."""

    Config = ColorDSpritesConfig
    summary = "dSprites coloured with one of 10 tab10 colours, colour a style factor (Eastwood et al. 2023)"
    channels = 3

    def extra_factors(self) -> list[Factor]:
        return [Factor("colour", "colour", len(TAB10))]

    @property
    def augments(self) -> bool:
        return self.config.views == "augment"

    def colourise(self, masks: np.ndarray, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        images = masks[:, None].astype(np.float32) * TAB10[factors[:, 0]][:, :, None, None]
        if self.augments:
            images = (images - CHANNEL_MEAN[:, None, None]) / CHANNEL_STD[:, None, None]
        return images

    # --- views="augment": the reference's split, colours and augmentations --------------------
    @cached_property
    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sorted train and held-out sprite indices (90% / 10%) and each sprite's colour."""
        total = int(np.prod(self.sprites.sizes))
        rng = np.random.default_rng(self.config.split_seed)
        order = rng.permutation(total)
        cut = int(TRAIN_FRACTION * total)
        colours = rng.integers(0, len(TAB10), size=total).astype(np.int64)
        return np.sort(order[:cut]), np.sort(order[cut:]), colours

    def image_factors(self, sprite_indices: np.ndarray) -> np.ndarray:
        """Factor vectors ``(n, 6)`` (colour first) of stored images given by their sprite index."""
        sprite = np.stack(np.unravel_index(sprite_indices, self.sprites.sizes), axis=1)
        return np.concatenate([self.split[2][sprite_indices, None], sprite], axis=1).astype(np.int64)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``augment``: held-out images (the reference evaluates on its test split); else the whole grid."""
        if not self.augments:
            return super().sample_factors(n, rng)
        return self.image_factors(rng.choice(self.split[1], size=n))

    def sample_views(self, n: int, rng: np.random.Generator) -> Views:
        """``augment``: augmentations of train images, a key sharing its group's blocks with the query."""
        if not self.augments:
            return super().sample_views(n, rng)
        import torch

        factors = self.image_factors(rng.choice(self.split[0], size=n))
        masks = self.sprites.masks(factors[:, 1:])
        images = torch.from_numpy(masks[:, None].astype(np.float32) * TAB10[factors[:, 0]][:, :, None, None])
        augmentation = self.augmentation
        query = augmentation.sample_all(n, rng)
        blocks = GROUP_BLOCKS[self.config.grouping]

        def view(params) -> np.ndarray:
            return augmentation.apply(images, params).numpy().astype(np.float32)

        return Views(
            query=view(query),
            content_key=view(augmentation.sample_all(n, rng)),
            group_keys={g: view(shared_parameters(query, blocks[g], augmentation, n, rng)) for g in self.style_groups},
            query_factors=factors,
        )

    @cached_property
    def augmentation(self) -> SpriteAugmentation:
        return SpriteAugmentation()


@DATASETS.register("color-dsprites-tint")
class ColorDSpritesTint(DSprites):
    """dSprites times a random RGB tint, each channel uniform in [0.5, 1]; not a factor (dlib)."""

    summary = "dSprites times a random RGB tint in [0.5, 1]^3, tint not a factor (disentanglement_lib)"
    channels = 3

    def colourise(self, masks: np.ndarray, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        tint = rng.uniform(0.5, 1.0, size=(len(masks), 3)).astype(np.float32)
        return masks[:, None].astype(np.float32) * tint[:, :, None, None]


@DATASETS.register("noisy-dsprites")
class NoisyDSprites(DSprites):
    """dSprites in white on uniform noise, every pixel and channel drawn anew (dlib's NoisyDSprites)."""

    summary = "dSprites in white on a background of uniform RGB noise drawn per image (disentanglement_lib)"
    channels = 3

    def colourise(self, masks: np.ndarray, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # drawn height x width x channel, as dlib draws its (n, 64, 64, 3) noise
        noise = rng.uniform(0.0, 1.0, size=(len(masks), 64, 64, 3)).transpose(0, 3, 1, 2)
        return np.minimum(masks[:, None] + noise, 1.0).astype(np.float32)


#: the image dlib downloads for scream-dsprites; the user saves it as SCREAM_NAME in the data folder
SCREAM_NAME = "scream.jpg"
SCREAM_URL = "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg"
#: dlib shrinks the image to fit in this box (width, height), keeping its aspect ratio
SCREAM_BOX = (350, 274)


def load_background(path: Path, box: tuple[int, int] = SCREAM_BOX) -> np.ndarray:
    """The background picture as dlib prepares it: float64 ``(H, W, 3)`` in [0, 1].

    dlib calls Pillow's ``thumbnail`` of its time: the size shrinks to fit ``box``
    (width first, then height, truncating), the JPEG decoder is asked for a draft of
    at least that size, then a bicubic resize. Current Pillow's ``thumbnail`` adds a
    box-reduction step, so dlib's steps are written out here.

    Raises:
        UsageError: the file cannot be opened as an image, or is smaller than 65 x 65 px after fitting.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if width > box[0]:
                height, width = int(max(height * box[0] / width, 1)), int(box[0])
            if height > box[1]:
                width, height = int(max(width * box[1] / height, 1)), int(box[1])
            if (width, height) != image.size:
                image.draft(None, (width, height))
                image = image.resize((width, height), Image.Resampling.BICUBIC)
            pixels = np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise UsageError(f"background image {str(path)!r} cannot be read as a picture ({type(exc).__name__}); "
                         f"save The Scream ({SCREAM_URL}) there as a JPEG.") from None
    if min(pixels.shape[:2]) <= 64:
        raise UsageError(f"background image {str(path)!r} is {pixels.shape[1]} x {pixels.shape[0]} px after fitting "
                         f"into {box[0]} x {box[1]}; it must exceed 64 px each way (save The Scream, {SCREAM_URL}).")
    return pixels


@DATASETS.register("scream-dsprites")
class ScreamDSprites(DSprites):
    """dSprites inverted into a colour-shifted random crop of The Scream (dlib's ScreamDSprites).

    Per observation: a 64 x 64 crop whose corner is uniform over the rows and columns
    ``0 .. size - 65`` (dlib's ``randint(0, size - 64)`` never reaches the last offset),
    averaged with a colour uniform in [0, 1]^3, and inverted (1 - value) on the sprite.
    """

    summary = "dSprites inverted into a random crop of The Scream, colour-shifted (disentanglement_lib; you supply scream.jpg)"
    channels = 3

    def __init__(self, config: DSpritesConfig | None = None) -> None:
        super().__init__(config)
        self.background_path = locations.require_file(
            SCREAM_NAME, self.config.data_dir, "scream-dsprites' background picture",
            f"save The Scream ({SCREAM_URL}, the picture dlib uses) there as {SCREAM_NAME}",
        )
        self.background = load_background(self.background_path)

    def colourise(self, masks: np.ndarray, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from numpy.lib.stride_tricks import sliding_window_view

        n = len(masks)
        height, width = self.background.shape[:2]
        rows = rng.integers(0, height - 64, size=n)
        columns = rng.integers(0, width - 64, size=n)
        shift = rng.uniform(0.0, 1.0, size=(n, 3))
        windows = sliding_window_view(self.background, (64, 64), axis=(0, 1))  # (rows, columns, 3, 64, 64), no copy
        crops = (windows[rows, columns] + shift[:, :, None, None]) / 2.0
        return np.where(masks[:, None] == 1, 1.0 - crops, crops).astype(np.float32)

    @classmethod
    def locate_files(cls, config: DSpritesConfig) -> dict[str, Any]:
        return {**super().locate_files(config), SCREAM_NAME: locations.file_status(SCREAM_NAME, config.data_dir)}

    def describe(self) -> dict[str, Any]:
        description = super().describe()
        description["files"]["in use"] = f"{self.sprites.origin}; background picture {self.background_path}"
        return description
