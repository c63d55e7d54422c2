"""Image folders in ImageNet layout (``root/CLASS/*.jpg``): labels, augmentation groups, views.

The class label is the only ground-truth factor (``label``, content): evaluation
samples draw labels uniformly, then one image of each label. Views come from
augmentations with recorded parameters (:mod:`augment`), not from a factor grid:
for each image the query gets spatial and appearance parameters; the content key
redraws both; the ``spatial`` key keeps the query's spatial parameters and
redraws appearance; the ``appearance`` key the other way round. All keys show
the same source image as their query. :class:`AugmentedViews` carries every
view's parameters.

Each image is decoded (JPEG at reduced size through PIL's draft mode), centre
cropped to a square and resized to ``load_size``; random resized crops are
taken from that square (a documented simplification of cropping the full
frame). Evaluation observations are the square resized to ``size``, unaugmented.

Every random choice (labels, images, augmentation parameters) is drawn in the calling
process from its generator; decoding and augmenting then run in fixed chunks of
CHUNK_IMAGES images, on ``workers`` processes when there are several. The chunks are the
same whatever the number of workers, so a batch is bit-identical for any ``workers``, and
a resumed run (whose generator state is checkpointed) draws the same batches.
"""

from __future__ import annotations

import os
import weakref
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from disbench.datasets import locations
from disbench.datasets.augment import Parameters, SpatialGroup, appearance_groups
from disbench.datasets.base import CONTENT, Dataset, DatasetConfig, Factor, Views
from disbench.datasets.registry import DATASETS
from disbench.errors import DisbenchError, UsageError

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
#: images decoded and augmented together; fixed, so results do not depend on the worker count
CHUNK_IMAGES = 32


def default_workers() -> int:
    """Worker processes: the cores this process may use, less one for training, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0)) - 1))


@dataclass(frozen=True)
class AugmentedViews(Views):
    """Views plus the augmentation parameters of each view.

    Attributes:
        parameters: view name (``"query"``, ``"content"``, or a group name for that group's
            key) -> augmentation group -> parameter name -> values, shape ``(n,)``.
            For the key of group m, ``parameters[m][m]`` equals ``parameters["query"][m]``.
        image_indices: the source image of each example (index into ``dataset.paths``), ``(n,)``.
    """

    parameters: dict[str, dict[str, Parameters]] = field(default_factory=dict)
    image_indices: np.ndarray | None = None

    def parameter_matrix(self, view: str, group: str) -> tuple[list[str], np.ndarray]:
        """Names and values ``(n, P)`` of one group's parameters for one view (regression targets)."""
        params = self.parameters[view][group]
        return list(params), np.stack([params[k] for k in params], axis=1)


@dataclass
class ImageFolderConfig(DatasetConfig):
    """Attributes:
    root: folder of class subfolders holding JPEG/PNG images.
    size: side of the observations in pixels.
    load_size: side of the decoded square crops are taken from (default 1.25 x size).
    crop_scale: range of the area fraction of random resized crops.
    skip_other_files: ignore files that are not JPEG/PNG instead of refusing the folder.
    workers: processes that decode and augment images (default: the usable cores less one,
        at most 8; 1 works in the calling process). Batches are identical for any value.
    appearance: ``symmetric`` (every view drawn with one recipe) or ``asymmetric`` (query
        and keys drawn with BYOL's two recipes, see :func:`.augment.appearance_groups`).
    """

    root: str | None = None
    size: int = 64
    load_size: int | None = None
    crop_scale: tuple[float, float] = (0.08, 1.0)
    skip_other_files: bool = False
    workers: int | None = None
    appearance: Literal["symmetric", "asymmetric"] = "symmetric"

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError(f"size must be at least 8 pixels, got {self.size}")
        if self.load_size is not None and self.load_size < self.size:
            raise ValueError(f"load_size ({self.load_size}) must be at least size ({self.size})")
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {self.crop_scale}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")


def scan_folder(root: Path, skip_other_files: bool) -> tuple[list[str], list[Path], np.ndarray]:
    """Class names, image paths and their labels (sorted, as torchvision's ImageFolder).

    Raises:
        UsageError: no class subfolders, a class without images, no images at all, or
            non-image files (unless ``skip_other_files``).
    """
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith("."))
    if not classes:
        raise UsageError(f"image folder {str(root)!r} has no class subfolders; expected root/CLASS/IMAGE.jpg.")
    paths: list[Path] = []
    labels: list[int] = []
    others: list[Path] = []
    for label, name in enumerate(classes):
        found = 0
        for folder, _, files in sorted(os.walk(root / name)):
            for file in sorted(files):
                if file.startswith("."):
                    continue
                path = Path(folder) / file
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    paths.append(path)
                    labels.append(label)
                    found += 1
                else:
                    others.append(path)
        if found == 0 and not others:
            raise UsageError(f"class folder {str(root / name)!r} holds no JPEG/PNG images; remove it or add images.")
    if others and not skip_other_files:
        raise UsageError(
            f"image folder {str(root)!r} holds {len(others)} files that are not JPEG/PNG images "
            f"(e.g. {str(others[0].relative_to(root))!r}); remove them or set skip_other_files=true."
        )
    if not paths:
        raise UsageError(f"image folder {str(root)!r} holds no JPEG/PNG images.")
    label_array = np.asarray(labels, dtype=np.int64)
    empty = [classes[c] for c in range(len(classes)) if not np.any(label_array == c)]
    if empty:
        raise UsageError(f"class folder {str(root / empty[0])!r} holds no JPEG/PNG images; remove it or add images.")
    return classes, paths, label_array


def load_square(path: Path, side: int) -> np.ndarray:
    """Decode, centre-crop to a square, resize to ``side``; uint8 ``(3, side, side)``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.draft("RGB", (side, side))  # JPEG: decode at a reduced scale, much faster
            image = image.convert("RGB")
            width, height = image.size
            short = min(width, height)
            box = ((width - short) // 2, (height - short) // 2, (width + short) // 2, (height + short) // 2)
            image = image.resize((side, side), Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)
            return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DisbenchError(f"cannot decode image {str(path)!r} ({type(exc).__name__}); remove or replace it.") from None


def decode_squares(paths: list[Path], load_size: int, threads: int = 1) -> "torch.Tensor":
    """Decoded squares as a float tensor ``(n, 3, load_size, load_size)`` in [0, 1]."""
    import torch

    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:  # PIL releases the GIL while decoding
            arrays = list(pool.map(lambda p: load_square(p, load_size), paths))
    else:
        arrays = [load_square(p, load_size) for p in paths]
    return torch.from_numpy(np.stack(arrays)).float().div_(255.0)


def apply_groups(squares: "torch.Tensor", augmentations: dict[str, Any], params: dict[str, Parameters]) -> np.ndarray:
    """Each group's augmentation in turn (spatial, then appearance); float32 ``(n, 3, size, size)``."""
    images = squares
    for group, augmentation in augmentations.items():
        images = augmentation.apply(images, params[group])
    return images.clamp(0, 1).numpy().astype(np.float32)


def render_chunk(
    paths: list[Path], load_size: int, size: int, augmentations: dict[str, Any],
    views: list[dict[str, Parameters]] | None, decode_threads: int = 1,
) -> list[np.ndarray]:
    """Decode one chunk of images and make its views: float32 ``(n, 3, size, size)`` per view.

    ``views`` holds each view's parameters per augmentation group; None gives the
    unaugmented square resized to ``size`` (evaluation observations).
    """
    import torch.nn.functional as F

    squares = decode_squares(paths, load_size, decode_threads)
    if views is None:
        resized = F.interpolate(squares, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return [resized.clamp_(0, 1).numpy().astype(np.float32)]
    return [apply_groups(squares, augmentations, params) for params in views]


def _start_worker() -> None:
    import torch

    torch.set_num_threads(1)  # the workers share the cores among themselves


@DATASETS.register("imagefolder")
class ImageFolder(Dataset):
    """Any folder of class subfolders of JPEG/PNG images; spatial and appearance augmentation groups."""

    Config = ImageFolderConfig
    summary = "a folder in ImageNet layout (root/CLASS/*.jpg); label content, spatial and appearance views"

    def __init__(self, config: ImageFolderConfig | None = None) -> None:
        super().__init__(config)
        self.root = self.resolve_root()
        self.classes, self.paths, self.labels = scan_folder(self.root, self.config.skip_other_files)
        self.images_of_class = [np.flatnonzero(self.labels == c) for c in range(len(self.classes))]
        size = self.config.size
        self.load_size = self.config.load_size or int(round(1.25 * size))
        query_appearance, key_appearance = appearance_groups(size, self.config.appearance)
        spatial = SpatialGroup(size, crop_scale=tuple(self.config.crop_scale))
        # keys draw from these; the query from query_augmentations, the same groups unless asymmetric
        self.augmentations = {"spatial": spatial, "appearance": key_appearance}
        self.query_augmentations = (
            self.augmentations if self.config.appearance == "symmetric"
            else {"spatial": spatial, "appearance": query_appearance}
        )
        self.factors = [Factor("label", CONTENT, len(self.classes))]
        self.style_groups = list(self.augmentations)
        self.observation_shape = (3, size, size)

    def resolve_root(self) -> Path:
        if not self.config.root:
            raise UsageError(f"dataset {self.name!r} needs root=PATH, a folder of class subfolders of JPEG/PNG images.")
        root = Path(self.config.root).expanduser()
        if not root.is_dir():
            raise UsageError(f"image folder {str(root)!r} does not exist; check the root option.")
        return root

    # --- factors and observations --------------------------------------------------------------
    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Labels drawn uniformly over classes, shape ``(n, 1)`` int64."""
        return rng.integers(0, len(self.classes), size=(n, 1), dtype=np.int64)

    def pick_images(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One image index per label, uniform within its class, shape ``(n,)``."""
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if labels.min(initial=0) < 0 or labels.max(initial=0) >= len(self.classes):
            raise UsageError(f"labels of dataset {self.name!r} lie in 0..{len(self.classes) - 1}.")
        counts = np.array([len(members) for members in self.images_of_class])
        within = (rng.uniform(size=len(labels)) * counts[labels]).astype(np.int64)
        return np.array([self.images_of_class[c][i] for c, i in zip(labels, within)], dtype=np.int64)

    # --- decoding and augmenting, in chunks, on worker processes ----------------------------------
    @property
    def workers(self) -> int:
        return self.config.workers or default_workers()

    def _pool(self) -> ProcessPoolExecutor:
        if getattr(self, "_worker_pool", None) is None:
            import multiprocessing

            # spawn: forking a process that already runs torch's thread pools can deadlock
            pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker)
            self._worker_pool = pool
            weakref.finalize(self, pool.shutdown, wait=False, cancel_futures=True)
        return self._worker_pool

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_worker_pool": None}  # a pool stays with its process

    def render(self, image_indices: np.ndarray, views: list[dict[str, Parameters]] | None) -> list[np.ndarray]:
        """Views (or, with None, evaluation observations) of these images, chunk by chunk."""
        size = self.config.size
        chunks = []
        for start in range(0, len(image_indices), CHUNK_IMAGES):
            paths = [self.paths[i] for i in image_indices[start : start + CHUNK_IMAGES]]
            chunk_views = None if views is None else [
                {g: {k: v[start : start + CHUNK_IMAGES] for k, v in p.items()} for g, p in params.items()} for params in views
            ]  # fmt: skip
            chunks.append((paths, self.load_size, size, self.augmentations, chunk_views))
        if self.workers > 1 and len(chunks) > 1:
            parts = list(self._pool().map(render_chunk, *zip(*chunks)))
        else:
            threads = len(os.sched_getaffinity(0))
            parts = [render_chunk(*chunk, decode_threads=threads) for chunk in chunks]
        return [np.concatenate([part[v] for part in parts]) for v in range(len(parts[0]))]

    def observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Unaugmented images of the given labels (one random image each), float32 ``(n, 3, size, size)``."""
        return self.render(self.pick_images(factors, rng), None)[0]

    def load(self, image_indices: np.ndarray) -> "torch.Tensor":
        """Decoded squares of these images, ``(n, 3, load_size, load_size)`` in [0, 1] (to replay views)."""
        return decode_squares([self.paths[i] for i in image_indices], self.load_size, len(os.sched_getaffinity(0)))

    def augment(self, squares: "torch.Tensor", params: dict[str, Parameters]) -> np.ndarray:
        """Apply recorded parameters to loaded squares; float32 ``(n, 3, size, size)``."""
        return apply_groups(squares, self.augmentations, params)

    # --- views ---------------------------------------------------------------------------------
    def sample_views(self, n: int, rng: np.random.Generator) -> AugmentedViews:
        """Query, content key and one key per group, all from the same source images."""
        labels, image_indices, query_params = self._draw_queries(n, rng)

        def draw(shared_with_query: str | None = None) -> dict[str, Parameters]:
            return {
                group: (query_params[group] if group == shared_with_query else augmentation.sample(n, rng))
                for group, augmentation in self.augmentations.items()
            }

        parameters = {"query": query_params, "content": draw()}
        for group in self.style_groups:
            parameters[group] = draw(shared_with_query=group)
        query, content, *keys = self.render(image_indices, [parameters["query"], parameters["content"]]
                                            + [parameters[g] for g in self.style_groups])  # fmt: skip
        return AugmentedViews(
            query=query,
            content_key=content,
            group_keys=dict(zip(self.style_groups, keys)),
            query_factors=labels,
            parameters=parameters,
            image_indices=image_indices,
        )

    def sample_augmented(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, Parameters]]:
        """Query views alone, for scoring what a space kept of each augmentation group.

        Returns:
            ``(images (n, C, H, W), labels (n,), {group: parameters})``: the views, their
            labels and the augmentation parameters that made them.
        """
        labels, image_indices, params = self._draw_queries(n, rng)
        return self.render(image_indices, [params])[0], labels, params

    def _draw_queries(self, n: int, rng: np.random.Generator):
        """Labels, source images and one draw of every group's parameters."""
        labels = self.sample_factors(n, rng)
        image_indices = self.pick_images(labels, rng)
        params = {group: augmentation.sample(n, rng) for group, augmentation in self.query_augmentations.items()}
        return labels, image_indices, params

    @classmethod
    def locate_files(cls, config: ImageFolderConfig) -> dict[str, Any]:
        root = config.root
        return {"in use": None, "root": {"looked for": root or "(set root=PATH)",
                                         "found": bool(root) and Path(root).expanduser().is_dir()}}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "classes": len(self.classes), "images": len(self.paths),
                "files": {**self.locate_files(self.config), "in use": str(self.root)}}


@dataclass
class ImageNetConfig(ImageFolderConfig):
    """ImageNet: ``root`` defaults to ``$DISBENCH_DATA/imagenet/<split>`` (or ``.../imagenet``); 224 px;
    asymmetric appearance augmentations, as Eastwood et al.'s ImageNet configs."""

    size: int = 224
    load_size: int | None = 256
    appearance: Literal["symmetric", "asymmetric"] = "asymmetric"
    split: str = "train"
    data_dir: str | None = None


@DATASETS.register("imagenet")
class ImageNet(ImageFolder):
    """ImageNet (ILSVRC-2012) in its usual folder layout, 224 px, spatial and appearance groups."""

    Config = ImageNetConfig
    summary = "ImageNet folder (root or $DISBENCH_DATA/imagenet/train), 224 px, spatial and appearance views"

    @classmethod
    def default_root(cls, config: ImageNetConfig) -> Path | None:
        """``$DISBENCH_DATA/imagenet/<split>`` when that folder exists, else ``$DISBENCH_DATA/imagenet``."""
        base = locations.data_dir(config.data_dir)
        if base is None:
            return None
        split = base / "imagenet" / config.split
        return split if split.is_dir() else base / "imagenet"

    def resolve_root(self) -> Path:
        if not self.config.root:
            root = self.default_root(self.config)
            if root is None or not root.is_dir():
                where = f"{root}/{self.config.split} or {root}" if root else f"${locations.DATA_ENV}/imagenet/{self.config.split}"
                raise UsageError(f"ImageNet not found at {where}; put the ILSVRC-2012 class folders there or set root=PATH.")
            self.config.root = str(root)
        return super().resolve_root()

    @classmethod
    def locate_files(cls, config: ImageNetConfig) -> dict[str, Any]:
        if config.root:
            return super().locate_files(config)
        try:
            root = cls.default_root(config)
        except UsageError as exc:
            return {"in use": None, "root": {"looked for": f"${locations.DATA_ENV}/imagenet/{config.split}",
                                             "found": False, "problem": str(exc)}}
        where = str(root) if root else f"${locations.DATA_ENV}/imagenet/{config.split} (set {locations.DATA_ENV} or root)"
        return {"in use": None, "root": {"looked for": where, "found": bool(root) and root.is_dir()}}
