"""Shapes3D: the released 3dshapes.h5 layout read lazily, and bad files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from dataset_checks import check_views_follow_groups
from disbench.datasets.shapes3d import FILE_NAME, Shapes3D, Shapes3DConfig
from disbench.errors import DisbenchError, UsageError

SMALL_SIZES = (2, 3, 2, 2, 4, 3)  # floor, wall, object hue, scale, shape, orientation


def factor_values(sizes):
    """Label values like the released file's (hues in [0, 1), scale 0.75..1.25, orientation -30..30)."""
    hues = [np.linspace(0, 0.9, s) for s in sizes[:3]]
    return [*hues, np.linspace(0.75, 1.25, sizes[3]), np.arange(sizes[4], dtype=float),
            np.linspace(-30, 30, sizes[5])]


def write_shapes3d(path, sizes=SMALL_SIZES, images_dtype=np.uint8, labels=None, shuffle=False, drop=None):
    count = int(np.prod(sizes))
    indices = np.stack(np.unravel_index(np.arange(count), sizes), axis=1)
    if shuffle:
        indices = indices[np.random.default_rng(0).permutation(count)]
    values = factor_values(sizes)
    if labels is None:
        labels = np.stack([values[j][indices[:, j]] for j in range(6)], axis=1)
    images = np.random.default_rng(1).integers(0, 256, size=(count, 64, 64, 3)).astype(images_dtype)
    with h5py.File(path, "w") as handle:
        if drop != "images":
            handle.create_dataset("images", data=images, chunks=(8, 64, 64, 3), compression="gzip")
        if drop != "labels":
            handle.create_dataset("labels", data=labels)
    return images


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    return tmp_path


def test_factors_and_rows_follow_the_released_layout(data_dir):
    images = write_shapes3d(data_dir / FILE_NAME)
    dataset = Shapes3D()
    assert dataset.factor_names == ["floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"]
    assert dataset.factor_sizes == SMALL_SIZES
    assert dataset.groups == ["content", "colour", "geometry"]
    factors = dataset.sample_factors(30, np.random.default_rng(0))
    factors[1] = factors[0]  # a repeated row is read once and returned twice
    observations = dataset.observations_from_factors(factors, None)
    rows = np.ravel_multi_index(tuple(factors.T), SMALL_SIZES)
    assert observations.shape == (30, 3, 64, 64) and observations.dtype == np.float32
    np.testing.assert_allclose(observations, images[rows].transpose(0, 3, 1, 2) / 255.0, atol=1e-7)
    check_views_follow_groups(dataset, n=1000)


def test_views_have_the_declared_shape(data_dir):
    write_shapes3d(data_dir / FILE_NAME)
    views = Shapes3D().sample_views(5, np.random.default_rng(0))
    assert views.query.shape == views.group_keys["colour"].shape == (5, 3, 64, 64)


def test_missing_file_says_where_to_get_it_and_where_to_put_it(data_dir):
    with pytest.raises(UsageError) as excinfo:
        Shapes3D()
    message = str(excinfo.value)
    assert "\n" not in message and str(data_dir / FILE_NAME) in message
    assert "https://storage.googleapis.com/3d-shapes/3dshapes.h5" in message


def test_missing_data_folder_is_one_line(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        Shapes3D(Shapes3DConfig(data_dir=str(tmp_path / "nowhere")))


@pytest.mark.parametrize("problem,expected", [
    ({"drop": "images"}, "has no 'images' dataset"),
    ({"drop": "labels"}, "has no 'labels' dataset"),
    ({"images_dtype": np.float32}, "expected (N, 64, 64, 3) uint8"),
    ({"labels": np.zeros((288, 5))}, "expected (288, 6) floats"),
    ({"labels": np.zeros((288, 6), dtype=np.int64)}, "expected (288, 6) floats"),
    ({"shuffle": True}, "not the full factor grid in the released order"),
])
def test_bad_files_fail_with_one_line(data_dir, problem, expected):
    write_shapes3d(data_dir / FILE_NAME, **problem)
    with pytest.raises(DisbenchError) as excinfo:
        Shapes3D()
    assert expected in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_truncated_file_fails_with_one_line(data_dir):
    path = data_dir / FILE_NAME
    write_shapes3d(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DisbenchError) as excinfo:
        Shapes3D()
    assert "cannot be read" in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_dataset_survives_pickling_for_worker_processes(data_dir):
    import pickle

    write_shapes3d(data_dir / FILE_NAME)
    dataset = Shapes3D()
    dataset.sample(2, np.random.default_rng(0))  # opens the file
    clone = pickle.loads(pickle.dumps(dataset))
    np.testing.assert_array_equal(clone.sample(3, np.random.default_rng(1))[0], dataset.sample(3, np.random.default_rng(1))[0])
