"""SmallNORB: NORB binary matrix files written in the released format, read as disentanglement_lib does."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dataset_checks import check_views_follow_groups
from disbench.datasets.smallnorb import SPLITS, SmallNORB, file_name, read_binary_matrix
from disbench.errors import DisbenchError, UsageError

# category, instance, elevation, azimuth (stored 0, 2, 4), lighting
SIZES = (2, 2, 2, 3, 2)
MAGIC = {np.uint8: 0x1E3D4C55, np.int32: 0x1E3D4C54}


def write_matrix(path, array, magic=None, ndim=None, truncate=0):
    """NORB's format: int32 magic, int32 ndim, max(3, ndim) int32 dims (padded with 1), the data."""
    ndim = array.ndim if ndim is None else ndim
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = np.array([magic or MAGIC[array.dtype.type], ndim, *dims], dtype="<i4").tobytes()
    data = header + np.ascontiguousarray(array).tobytes()
    path.write_bytes(data[: len(data) - truncate])


def write_smallnorb(folder, seed=0, odd_azimuth=False, drop_row=False):
    """Both splits (instance 1 in training, 0 in testing, as the release splits instances), rows shuffled.

    Returns the features (dlib's columns, azimuth halved) and left images of all rows, training first.
    """
    rng = np.random.default_rng(seed)
    grid = np.stack(np.unravel_index(np.arange(int(np.prod(SIZES))), SIZES), axis=1)
    features, lefts = [], []
    for split, instance in zip(SPLITS, (1, 0)):
        rows = grid[grid[:, 1] == instance]
        rows = rows[rng.permutation(len(rows))]
        if drop_row:
            rows = rows[1:]
        pairs = rng.integers(0, 256, size=(len(rows), 2, 96, 96), dtype=np.uint8)
        info = rows[:, 1:].copy()
        info[:, 2] = info[:, 2] * 2 + (1 if odd_azimuth else 0)
        write_matrix(folder / file_name(split, "dat"), pairs)
        write_matrix(folder / file_name(split, "cat"), rows[:, 0].astype(np.int32))
        write_matrix(folder / file_name(split, "info"), info.astype(np.int32))
        features.append(rows)
        lefts.append(pairs[:, 0])
    return np.concatenate(features), np.concatenate(lefts)


def dlib_read_binary_matrix(path):
    """A transcription of dlib's norb._read_binary_matrix."""
    s = path.read_bytes()
    magic = int(np.frombuffer(s, "int32", 1)[0])
    ndim = int(np.frombuffer(s, "int32", 1, 4)[0])
    eff_dim = max(3, ndim)
    raw_dims = np.frombuffer(s, "int32", eff_dim, 8)
    dims = [raw_dims[i] for i in range(ndim)]
    dtype_map = {507333717: "int8", 507333716: "int32", 507333713: "float", 507333715: "double"}
    return np.frombuffer(s, dtype_map[magic], offset=8 + eff_dim * 4).reshape(tuple(dims))


def dlib_resize(integer_image):
    """dlib's _resize_images for one image: int8 array -> Pillow image -> Lanczos 64 x 64 -> / 255."""
    image = Image.fromarray(integer_image).resize((64, 64), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.float64) / 255.0


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    return tmp_path


def test_binary_matrix_header_and_layout(tmp_path):
    array = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    write_matrix(tmp_path / "m.mat", array)
    np.testing.assert_array_equal(read_binary_matrix(tmp_path / "m.mat"), array)
    vector = np.array([4, 0, 3], dtype=np.int32)  # one dimension: the header still stores three
    write_matrix(tmp_path / "v.mat", vector)
    assert (tmp_path / "v.mat").stat().st_size == 8 + 12 + 12
    np.testing.assert_array_equal(read_binary_matrix(tmp_path / "v.mat"), dlib_read_binary_matrix(tmp_path / "v.mat"))


def test_factors_rows_and_images_follow_dlibs_loader(data_dir):
    features, lefts = write_smallnorb(data_dir)
    dataset = SmallNORB()
    assert dataset.factor_names == ["category", "elevation", "azimuth", "lighting"]
    assert dataset.factor_sizes == (2, 2, 3, 2) and dataset.observation_shape == (1, 64, 64)
    assert dataset.groups == ["content", "viewpoint", "lighting"]
    # dlib: features = cat | info of both splits, azimuth halved; the row of a full factor vector
    # is found through StateSpaceAtomIndex; the instance is drawn for each observation
    dlib_features = np.concatenate([
        np.column_stack((dlib_read_binary_matrix(data_dir / file_name(s, "cat")),
                         dlib_read_binary_matrix(data_dir / file_name(s, "info")))) for s in SPLITS
    ]).astype(np.int64)
    dlib_features[:, 3] = dlib_features[:, 3] / 2
    np.testing.assert_array_equal(dlib_features, features)
    bases = np.prod(SIZES) / np.cumprod(SIZES)
    lookup = np.zeros(int(np.prod(SIZES)), dtype=np.int64)
    lookup[np.array(np.dot(dlib_features, bases), dtype=np.int64)] = np.arange(len(dlib_features))
    dlib_images = np.concatenate([dlib_read_binary_matrix(data_dir / file_name(s, "dat"))[:, 0] for s in SPLITS])

    factors = dataset.sample_factors(12, np.random.default_rng(0))
    observations = dataset.observations_from_factors(factors, np.random.default_rng(7))
    instances = np.random.default_rng(7).integers(0, 2, size=12)
    full = np.column_stack([factors[:, 0], instances, factors[:, 1:]])
    rows = lookup[np.array(np.dot(full, bases), dtype=np.int64)]
    expected = np.stack([dlib_resize(dlib_images[r]) for r in rows]).astype(np.float32)
    np.testing.assert_array_equal(observations[:, 0], expected)
    assert observations.dtype == np.float32
    check_views_follow_groups(dataset, n=1000)


def test_one_known_image_is_the_left_camera_of_its_row(data_dir):
    features, lefts = write_smallnorb(data_dir)
    # category 1, instance 0, elevation 1, azimuth 2 (stored 4), lighting 0
    row = int(np.nonzero((features == [1, 0, 1, 2, 0]).all(axis=1))[0][0])
    assert row >= len(features) // 2  # instance 0 lives in the testing split, read second
    dataset = SmallNORB()
    seen = dataset.observations_from_factors(np.array([[1, 1, 2, 0]] * 40), np.random.default_rng(0))
    candidates = {tuple(dlib_resize(lefts[row].view(np.int8)).astype(np.float32).ravel()[:50])}
    instance_zero = [s for s in seen if tuple(s[0].ravel()[:50]) in candidates]
    assert instance_zero  # among 40 draws of the instance, instance 0 appears with its own image
    np.testing.assert_array_equal(instance_zero[0][0], dlib_resize(lefts[row].view(np.int8)).astype(np.float32))


def test_missing_file_names_it_its_size_and_where_to_put_it(data_dir):
    write_smallnorb(data_dir)
    missing = data_dir / file_name(SPLITS[1], "dat")
    missing.unlink()
    with pytest.raises(UsageError) as excinfo:
        SmallNORB()
    message = str(excinfo.value)
    assert str(missing) in message and "cs.nyu.edu" in message and "447,897,624 bytes" in message and "\n" not in message


@pytest.mark.parametrize("damage,expected", [
    ("magic", "not a NORB binary matrix"),
    ("truncate", "is truncated"),
    ("odd", "odd azimuth"),
    ("drop", "every (category, instance"),
    ("count", "holds 24 images where its cat and info files hold 23"),
])
def test_bad_files_fail_with_one_line_naming_the_file(data_dir, damage, expected):
    write_smallnorb(data_dir, odd_azimuth=damage == "odd", drop_row=damage == "drop")
    dat = data_dir / file_name(SPLITS[0], "dat")
    if damage == "magic":
        write_matrix(dat, np.zeros((24, 2, 96, 96), np.uint8), magic=0x12345678)
    elif damage == "truncate":
        write_matrix(dat, np.zeros((24, 2, 96, 96), np.uint8), truncate=100)
    elif damage == "count":
        write_matrix(data_dir / file_name(SPLITS[0], "cat"), np.zeros(23, np.int32))
        write_matrix(data_dir / file_name(SPLITS[0], "info"), np.zeros((23, 4), np.int32))
    with pytest.raises(DisbenchError) as excinfo:
        SmallNORB()
    message = str(excinfo.value)
    assert expected in message and "\n" not in message and "smallnorb-" in message
    if damage in ("magic", "truncate"):
        assert str(dat) in message and "447,897,624 bytes" in message


def test_data_info_lists_the_six_files(cli, data_dir):
    result = cli("data", "info", "smallnorb")
    assert result.exit_code == 2
    for split in SPLITS:
        for kind in ("dat", "cat", "info"):
            assert f"{file_name(split, kind)}: not found" in result.output
    write_smallnorb(data_dir)
    result = cli("data", "info", "smallnorb")
    assert result.exit_code == 0 and "category" in result.output and "found" in result.output
    preview = cli("data", "preview", "smallnorb", "--out", "norb.png", "--samples", "4")
    assert preview.exit_code == 0, preview.output
