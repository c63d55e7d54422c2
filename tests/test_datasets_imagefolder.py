"""Image folders: scanning, labels, augmentation groups with recorded parameters, views, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from disbench.datasets.augment import AppearanceGroup, SpatialGroup
from disbench.datasets.imagefolder import ImageFolder, ImageFolderConfig, ImageNet
from disbench.errors import DisbenchError, UsageError
from image_folders import CLASS_COLOURS, make_image_folder

@pytest.fixture
def folder(tmp_path):
    return make_image_folder(tmp_path / "images")


def build(root, **options) -> ImageFolder:
    return ImageFolder(ImageFolderConfig(root=str(root), size=32, workers=2, **options))


def test_labels_are_the_content_factor_and_pick_images_of_their_class(folder):
    dataset = build(folder)
    assert dataset.classes == sorted(CLASS_COLOURS) and len(dataset.paths) == 9
    assert dataset.factor_names == ["label"] and dataset.factors[0].num_values == 3
    assert dataset.groups == ["content", "spatial", "appearance"]
    images, labels = dataset.sample(12, np.random.default_rng(0))
    assert images.shape == (12, 3, 32, 32) and images.dtype == np.float32
    centre = images[:, :, 20:, 20:].mean(axis=(2, 3)) * 255  # away from the white mark
    for colour, label in zip(centre, labels[:, 0]):
        np.testing.assert_allclose(colour, CLASS_COLOURS[dataset.classes[label]], atol=6)


def test_each_key_shares_exactly_its_group_parameters(folder):
    dataset = build(folder)
    views = dataset.sample_views(8, np.random.default_rng(1))
    params = views.parameters
    assert set(params) == {"query", "content", "spatial", "appearance"}
    for view in ("content", "spatial", "appearance"):
        for group in dataset.style_groups:
            same = [np.array_equal(values, params["query"][group][name]) for name, values in params[view][group].items()]
            if view == group:
                assert all(same), (view, group)
            else:
                assert not all(same), (view, group)  # redrawn
    names, matrix = views.parameter_matrix("query", "appearance")
    assert matrix.shape == (8, len(names)) and "hue" in names


def test_views_replay_their_recorded_parameters(folder):
    dataset = build(folder)
    views = dataset.sample_views(6, np.random.default_rng(2))
    squares = dataset.load(views.image_indices)
    np.testing.assert_array_equal(views.query_factors[:, 0], dataset.labels[views.image_indices])
    for name, key in [("query", views.query), ("content", views.content_key), *views.group_keys.items()]:
        np.testing.assert_allclose(dataset.augment(squares, views.parameters[name]), key, atol=1e-6)
    again = dataset.sample_views(6, np.random.default_rng(2))
    np.testing.assert_array_equal(again.group_keys["spatial"], views.group_keys["spatial"])


def test_augmented_queries_are_the_query_views_of_the_same_draw(folder):
    dataset = build(folder)
    views = dataset.sample_views(5, np.random.default_rng(3))
    images, labels, params = dataset.sample_augmented(5, np.random.default_rng(3))
    np.testing.assert_array_equal(images, views.query)
    np.testing.assert_array_equal(labels, views.query_factors)
    for group, values in params.items():
        for name, column in values.items():
            np.testing.assert_array_equal(column, views.parameters["query"][group][name])


def test_spatial_group_identity_flip_and_crop_boxes():
    images = torch.rand(4, 3, 16, 16)
    spatial = SpatialGroup(size=16, crop_scale=(0.2, 1.0))
    whole = {"crop_top": np.zeros(4), "crop_left": np.zeros(4), "crop_height": np.ones(4),
             "crop_width": np.ones(4), "flip": np.array([0.0, 1.0, 0.0, 1.0])}
    out = spatial.apply(images, whole)
    torch.testing.assert_close(out[0], images[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1], images[1].flip(-1), atol=1e-5, rtol=0)
    boxes = spatial.sample(5000, np.random.default_rng(0))
    area = boxes["crop_height"] * boxes["crop_width"]
    assert area.min() >= 0.2 - 1e-9 and area.max() <= 1 + 1e-9
    assert (boxes["crop_top"] + boxes["crop_height"] <= 1 + 1e-9).all()
    assert (boxes["crop_left"] + boxes["crop_width"] <= 1 + 1e-9).all()
    assert 0.45 < boxes["flip"].mean() < 0.55


def test_appearance_group_identity_grayscale_solarise_blur():
    images = torch.rand(3, 3, 20, 20)
    appearance = AppearanceGroup(size=224)
    identity = {"brightness": np.ones(3), "contrast": np.ones(3), "saturation": np.ones(3), "hue": np.zeros(3),
                "grayscale": np.zeros(3), "blur_sigma": np.zeros(3), "solarize": np.zeros(3)}
    torch.testing.assert_close(appearance.apply(images, identity), images, atol=1e-5, rtol=0)
    gray = appearance.apply(images, {**identity, "grayscale": np.array([1.0, 0, 0])})
    torch.testing.assert_close(gray[0, 0], gray[0, 2])
    solar = appearance.apply(images, {**identity, "solarize": np.array([1.0, 0, 0])})
    torch.testing.assert_close(solar[0], torch.where(images[0] >= 0.5, 1 - images[0], images[0]))
    blurred = appearance.apply(images, {**identity, "blur_sigma": np.array([2.0, 0, 0])})
    assert blurred[0].std() < 0.6 * images[0].std()
    torch.testing.assert_close(blurred[1:], images[1:], atol=1e-5, rtol=0)
    hue_on_gray = appearance.apply(torch.full((3, 3, 4, 4), 0.5), {**identity, "hue": np.full(3, 0.3)})
    torch.testing.assert_close(hue_on_gray, torch.full((3, 3, 4, 4), 0.5), atol=1e-5, rtol=0)
    drawn = appearance.sample(4000, np.random.default_rng(0))
    assert 0.75 < np.mean(drawn["brightness"] != 1) < 0.85 and 0.15 < drawn["grayscale"].mean() < 0.25


def test_imagenet_finds_its_folder_through_the_environment(tmp_path, monkeypatch):
    make_image_folder(tmp_path / "imagenet" / "train", per_class=1)
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    dataset = ImageNet(ImageNet.Config(size=32, load_size=40))
    assert dataset.classes == sorted(CLASS_COLOURS)
    assert ImageNet.Config().size == 224
    flat = tmp_path / "flat"
    make_image_folder(flat / "imagenet", per_class=1)  # class folders directly under imagenet/
    monkeypatch.setenv("DISBENCH_DATA", str(flat))
    assert ImageNet(ImageNet.Config(size=32, load_size=40)).root == flat / "imagenet"
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(UsageError, match="does not exist"):
        ImageNet()


def one_line(excinfo) -> str:
    assert "\n" not in str(excinfo.value)
    return str(excinfo.value)


def test_bad_folders_fail_with_one_line(tmp_path):
    with pytest.raises(UsageError) as excinfo:
        ImageFolder()
    assert "needs root=PATH" in one_line(excinfo)
    with pytest.raises(UsageError) as excinfo:
        build(tmp_path / "missing")
    assert "does not exist" in one_line(excinfo)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError) as excinfo:
        build(empty)
    assert "no class subfolders" in one_line(excinfo)
    (empty / "cats").mkdir()
    with pytest.raises(UsageError) as excinfo:
        build(empty)
    assert "holds no JPEG/PNG images" in one_line(excinfo)


def test_non_image_files_are_refused_unless_skipped(folder):
    (folder / "leaf" / "notes.txt").write_text("not an image")
    with pytest.raises(UsageError) as excinfo:
        build(folder)
    assert "1 files that are not JPEG/PNG" in one_line(excinfo) and "notes.txt" in one_line(excinfo)
    assert len(build(folder, skip_other_files=True).paths) == 9


def test_corrupt_image_fails_with_one_line_when_read(tmp_path):
    root = tmp_path / "images"
    (root / "only").mkdir(parents=True)
    (root / "only" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    dataset = build(root)
    with pytest.raises(DisbenchError) as excinfo:
        dataset.sample(1, np.random.default_rng(0))
    assert "cannot decode image" in one_line(excinfo)


def test_bad_options_are_refused():
    from disbench.config import build_config

    with pytest.raises(UsageError, match="crop_scale"):
        build_config(ImageFolderConfig, {"crop_scale": "0.5,0.2"}, "dataset 'imagefolder'")
    with pytest.raises(UsageError, match="load_size"):
        build_config(ImageFolderConfig, {"size": "64", "load_size": "32"}, "dataset 'imagefolder'")


def test_batches_do_not_depend_on_the_number_of_workers(folder):
    """Decoding and augmenting run in fixed chunks, in worker processes or here: same bits either way."""
    from disbench.datasets import imagefolder

    assert imagefolder.default_workers() >= 1
    n = 2 * imagefolder.CHUNK_IMAGES + 5  # three chunks, the last one short
    here = ImageFolder(ImageFolderConfig(root=str(folder), size=32, workers=1))
    pooled = ImageFolder(ImageFolderConfig(root=str(folder), size=32, workers=3))
    views_here = here.sample_views(n, np.random.default_rng(4))
    views_pooled = pooled.sample_views(n, np.random.default_rng(4))
    assert pooled._worker_pool is not None  # the chunks really went to worker processes
    for name in ("query", "content_key"):
        np.testing.assert_array_equal(getattr(views_here, name), getattr(views_pooled, name))
    for group in here.style_groups:
        np.testing.assert_array_equal(views_here.group_keys[group], views_pooled.group_keys[group])
    labels = np.arange(n)[:, None] % len(here.classes)
    np.testing.assert_array_equal(
        here.observations_from_factors(labels, np.random.default_rng(5)),
        pooled.observations_from_factors(labels, np.random.default_rng(5)),
    )
