"""dSprites family: the grid, the renderer, the released file layout, the cache, bad input."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from dataset_checks import check_views_follow_groups
from disbench.config import build_config
from disbench.datasets import DATASETS, dsprites_files, sprites
from disbench.datasets.dsprites import TAB10, ColorDSprites, ColorDSpritesTint, DSprites, DSpritesConfig
from disbench.errors import DisbenchError, UsageError


@pytest.fixture(autouse=True)
def no_user_files(monkeypatch, tmp_path):
    monkeypatch.delenv("DISBENCH_DATA", raising=False)
    monkeypatch.setenv("DISBENCH_CACHE", str(tmp_path / "empty-cache"))


def rendered(**options) -> DSprites:
    return DSprites(DSpritesConfig(source="render", **options))


def test_grid_matches_the_released_spec():
    dataset = rendered()
    assert dataset.factor_names == ["shape", "scale", "orientation", "x", "y"]
    assert dataset.factor_sizes == (3, 6, 40, 32, 32)
    assert np.prod(dataset.factor_sizes) == 737_280
    assert dataset.groups == ["content", "scale", "orientation", "position"]
    assert dataset.group_factor_indices("position") == [3, 4]
    factors = dataset.sample_factors(5000, np.random.default_rng(0))
    assert factors.dtype == np.int64 and factors.min() == 0
    np.testing.assert_array_equal(factors.max(axis=0), np.array(dataset.factor_sizes) - 1)


def test_spatial_grouping_puts_all_geometry_in_one_group():
    dataset = rendered(grouping="spatial")
    assert dataset.groups == ["content", "spatial"]
    assert dataset.group_factor_indices("spatial") == [1, 2, 3, 4]


def test_observations_are_binary_float32_of_the_declared_shape():
    dataset = rendered()
    images, factors = dataset.sample(64, np.random.default_rng(1))
    assert images.shape == (64, *dataset.observation_shape) == (64, 1, 64, 64)
    assert images.dtype == np.float32
    assert set(np.unique(images)) == {0.0, 1.0}
    assert (images.sum(axis=(1, 2, 3)) > 20).all()


def test_position_steps_translate_by_one_pixel():
    base = np.array([[2, 5, 7, 10, 12]])
    image = sprites.render_sprites(base)[0]
    moved_x = sprites.render_sprites(base + [0, 0, 0, 1, 0])[0]
    moved_y = sprites.render_sprites(base + [0, 0, 0, 0, 1])[0]
    np.testing.assert_array_equal(np.roll(image, 1, axis=1), moved_x)
    np.testing.assert_array_equal(np.roll(image, 1, axis=0), moved_y)


def test_extreme_positions_keep_every_sprite_inside_the_canvas():
    patches = sprites.sprite_patches()
    for border in (patches[:, 0, :], patches[:, -1, :], patches[:, :, 0], patches[:, :, -1]):
        assert border.sum() == 0  # nothing is cut off when a patch sits at the canvas edge


def test_area_grows_with_scale_and_square_is_axis_aligned_at_orientation_zero():
    patches = sprites.sprite_patches().reshape(3, 6, 40, 33, 33)
    areas = patches[:, :, 0].sum(axis=(2, 3))
    assert (np.diff(areas, axis=1) > 0).all()
    square = patches[0, 5, 0]
    rows, cols = np.nonzero(square)
    assert square[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()  # a filled box
    np.testing.assert_array_equal(patches[:, :, 0], patches[:, :, -1])  # 0 and 2 pi are both in the grid


def test_heart_looks_like_a_heart():
    heart = sprites.sprite_patches().reshape(3, 6, 40, 33, 33)[2, 5, 0]
    np.testing.assert_array_equal(heart, heart[:, ::-1])  # mirror-symmetric
    rows = np.nonzero(heart.any(axis=1))[0]
    top, bottom = heart[rows[0] + 1], heart[rows[-1]]
    runs = np.count_nonzero(np.diff(np.concatenate([[0], top, [0]])) == 1)
    assert runs == 2  # two lobes with a notch between them
    assert bottom.sum() <= 3  # a point at the bottom
    widths = heart[rows].sum(axis=1)
    assert widths.argmax() < len(rows) / 2  # widest in its upper half


def test_heart_outline_is_star_shaped_about_its_centre():
    outline = sprites.heart_outline()
    angles = np.unwrap(np.arctan2(outline[:, 1], outline[:, 0]))
    assert (np.diff(angles) > 0).all() or (np.diff(angles) < 0).all()


def test_same_seed_same_images_and_views():
    dataset = rendered()
    a, b = (dataset.sample_views(16, np.random.default_rng(7)) for _ in range(2))
    np.testing.assert_array_equal(a.query, b.query)
    for group in dataset.style_groups:
        np.testing.assert_array_equal(a.group_keys[group], b.group_keys[group])


@pytest.mark.parametrize("name,grouping", [("dsprites", "split"), ("dsprites", "spatial"),
                                           ("color-dsprites", "spatial"), ("color-dsprites", "split"),
                                           ("color-dsprites-tint", "split")])
def test_views_share_exactly_their_groups(name, grouping):
    cls = DATASETS.get(name)
    # factor views (re-rendered factors); color-dsprites' augmentation views: tests/test_color_dsprites_views.py
    views = {"views": "factors"} if name == "color-dsprites" else {}
    check_views_follow_groups(cls(cls.Config(source="render", grouping=grouping, **views)))


def test_color_dsprites_paints_the_sprite_in_its_tab10_colour():
    dataset = ColorDSprites(ColorDSprites.Config(source="render", views="factors"))  # unnormalised pixels
    assert dataset.factor_names[0] == "colour" and dataset.factor_sizes[0] == 10
    assert dataset.groups == ["content", "colour", "spatial"]
    images, factors = dataset.sample(50, np.random.default_rng(2))
    masks = rendered().observations_from_factors(factors[:, 1:], None)[:, 0]
    for image, mask, colour in zip(images, masks, factors[:, 0]):
        np.testing.assert_allclose(image[:, mask == 1].T, np.broadcast_to(TAB10[colour], ((mask == 1).sum(), 3)))
        assert (image[:, mask == 0] == 0).all()


def test_tint_variant_draws_a_tint_in_half_to_one_from_the_given_generator():
    dataset = ColorDSpritesTint(ColorDSpritesTint.Config(source="render"))
    factors = dataset.sample_factors(200, np.random.default_rng(0))
    first = dataset.observations_from_factors(factors, np.random.default_rng(1))
    again = dataset.observations_from_factors(factors, np.random.default_rng(1))
    other = dataset.observations_from_factors(factors, np.random.default_rng(2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    tints = first.max(axis=(2, 3))
    assert tints.min() >= 0.5 and tints.max() <= 1.0 and tints.std() > 0.1


# --- the released file layout --------------------------------------------------------------------

SMALL_SIZES = (1, 3, 2, 4, 3, 5)  # colour, shape, scale, orientation, x, y
COUNT = 360


def write_released_layout(path, sizes=SMALL_SIZES, shuffle=False, imgs=None, drop=None, classes_dtype=np.int64):
    """A small file in the released layout, metadata pickled like the real one."""
    count = int(np.prod(sizes))
    classes = np.stack(np.unravel_index(np.arange(count), sizes), axis=1).astype(classes_dtype)
    if shuffle:
        classes = classes[::-1].copy()
    if imgs is None:
        imgs = (np.random.default_rng(0).uniform(size=(count, 64, 64)) < 0.3).astype(np.uint8)
    arrays = {"imgs": imgs, "latents_classes": classes, "latents_values": classes.astype(np.float64),
              "metadata": np.array({"date": "April 2017", "description": "pickled"}, dtype=object)}
    if drop:
        arrays.pop(drop)
    np.savez_compressed(path, **arrays)
    return imgs


def test_released_layout_is_read_by_index_arithmetic_without_unpickling(tmp_path):
    imgs = write_released_layout(tmp_path / dsprites_files.RELEASED_NAME)
    dataset = DSprites(DSpritesConfig(data_dir=str(tmp_path)))
    assert dataset.factor_sizes == SMALL_SIZES[1:]
    assert "released file" in dataset.describe()["files"]["in use"]
    factors = dataset.sample_factors(40, np.random.default_rng(0))
    rows = np.ravel_multi_index(tuple(factors.T), SMALL_SIZES[1:])
    np.testing.assert_array_equal(dataset.observations_from_factors(factors, None)[:, 0], imgs[rows])
    check_views_follow_groups(dataset, n=1000)


def test_released_file_is_found_through_the_environment(tmp_path, monkeypatch):
    write_released_layout(tmp_path / dsprites_files.RELEASED_NAME)
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    assert DSprites().factor_sizes == SMALL_SIZES[1:]
    assert ColorDSprites().factor_sizes == (10, *SMALL_SIZES[1:])


def error_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("problem,expected", [
    ({"drop": "imgs"}, "has no 'imgs' array"),
    ({"drop": "latents_classes"}, "has no 'latents_classes' array"),
    ({"imgs": np.zeros((COUNT, 64, 64), np.float32)}, "expected (N, 64, 64) uint8"),
    ({"imgs": np.zeros((COUNT, 32, 32), np.uint8)}, "expected (N, 64, 64) uint8"),
    ({"imgs": np.zeros((COUNT - 1, 64, 64), np.uint8)}, "359 images but 360 rows"),
    ({"shuffle": True}, "not in the released order"),
    ({"classes_dtype": np.float64}, "expected (N, 6) integers"),
])
def test_bad_released_files_fail_with_one_line(tmp_path, problem, expected):
    write_released_layout(tmp_path / dsprites_files.RELEASED_NAME, **problem)
    with pytest.raises(DisbenchError) as excinfo:
        DSprites(DSpritesConfig(data_dir=str(tmp_path)))
    assert expected in error_line(excinfo)


def test_non_binary_pixels_are_refused_when_first_read(tmp_path):
    write_released_layout(tmp_path / dsprites_files.RELEASED_NAME, imgs=np.full((COUNT, 64, 64), 255, np.uint8))
    dataset = DSprites(DSpritesConfig(data_dir=str(tmp_path)))
    with pytest.raises(DisbenchError) as excinfo:
        dataset.sample(2, np.random.default_rng(0))
    assert "values other than 0 and 1" in error_line(excinfo)


def test_truncated_and_non_zip_files_fail_with_one_line(tmp_path):
    path = tmp_path / dsprites_files.RELEASED_NAME
    write_released_layout(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DisbenchError) as excinfo:
        DSprites(DSpritesConfig(data_dir=str(tmp_path)))
    assert "cannot be read" in error_line(excinfo)
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(DisbenchError) as excinfo:
        DSprites(DSpritesConfig(data_dir=str(tmp_path)))
    assert "cannot be read (BadZipFile" in error_line(excinfo)


def test_truncated_image_stream_fails_on_first_read(tmp_path):
    path = tmp_path / dsprites_files.RELEASED_NAME
    imgs = write_released_layout(path)
    with zipfile.ZipFile(path, "w") as archive:  # an imgs member whose data stops half way
        with archive.open("imgs.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "|u1", "fortran_order": False, "shape": imgs.shape})
            member.write(imgs[:60].tobytes())
        with archive.open("latents_classes.npy", "w") as member:
            count = len(imgs)
            np.lib.format.write_array(member, np.stack(np.unravel_index(np.arange(count), SMALL_SIZES), axis=1))
    dataset = DSprites(DSpritesConfig(data_dir=str(tmp_path)))
    with pytest.raises(DisbenchError) as excinfo:
        dataset.sample(2, np.random.default_rng(0))
    assert "ends after 60 of 360 images" in error_line(excinfo)


def test_missing_folder_and_missing_file_fail_with_one_line(tmp_path, monkeypatch):
    with pytest.raises(UsageError) as excinfo:
        DSprites(DSpritesConfig(data_dir=str(tmp_path / "nowhere")))
    assert "does not exist" in error_line(excinfo)
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(UsageError) as excinfo:
        DSprites()
    assert "DISBENCH_DATA environment variable" in error_line(excinfo)
    with pytest.raises(UsageError) as excinfo:
        DSprites(DSpritesConfig(source="file", data_dir=str(tmp_path)))
    assert "google-deepmind/dsprites-dataset" in error_line(excinfo)


def test_unknown_group_option_and_factor_indices_fail_with_one_line():
    dataset = rendered()
    with pytest.raises(UsageError, match="has no group 'colour'; its groups are content, scale"):
        dataset.group_factor_indices("colour")
    with pytest.raises(UsageError, match="'grouping' must be one of split, spatial"):
        build_config(DSpritesConfig, {"grouping": "geometry"}, "dataset 'dsprites'")
    with pytest.raises(UsageError, match=r"factor 'orientation' .* takes indices 0..39, got 40"):
        dataset.observations_from_factors(np.array([[0, 0, 40, 0, 0]]), None)
    with pytest.raises(UsageError, match=r"shape \(n, 5\)"):
        dataset.observations_from_factors(np.zeros((2, 6), int), None)


# --- the render cache ----------------------------------------------------------------------------


def test_corrupt_or_stale_cache_fails_with_one_line(tmp_path):
    import h5py

    cache = tmp_path / dsprites_files.CACHE_NAME
    cache.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    dataset = DSprites(DSpritesConfig(cache_dir=str(tmp_path)))
    assert "render cache" in dataset.describe()["files"]["in use"]
    with pytest.raises(DisbenchError) as excinfo:
        dataset.sample(2, np.random.default_rng(0))
    assert "data prepare dsprites" in error_line(excinfo)
    with h5py.File(cache, "w") as handle:
        handle.create_dataset("imgs_packed", shape=(737_280, 64, 8), dtype=np.uint8, chunks=(4096, 64, 8))
        handle.attrs["renderer_version"] = sprites.RENDERER_VERSION + 1
    with pytest.raises(DisbenchError, match="another renderer version"):
        DSprites(DSpritesConfig(cache_dir=str(tmp_path))).sample(2, np.random.default_rng(0))


@pytest.mark.slow
def test_prepared_cache_holds_the_rendered_pixels(tmp_path):
    from disbench.datasets.cache import prepare

    path = prepare("dsprites", tmp_path)
    cached = DSprites(DSpritesConfig(cache_dir=str(tmp_path)))
    assert "render cache" in cached.sprites.origin
    factors = cached.sample_factors(500, np.random.default_rng(0))
    np.testing.assert_array_equal(cached.observations_from_factors(factors, None),
                                  rendered().observations_from_factors(factors, None))
    assert prepare("color-dsprites", tmp_path) == path  # one cache for the family
