"""MPI3D: .npz files written as the publisher writes them (np.savez, key images), memory-mapped, never unpickled."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest

from dataset_checks import check_views_follow_groups
from disbench.datasets import mpi3d
from disbench.datasets.mpi3d import MPI3DReal, MPI3DToy
from disbench.errors import DisbenchError, UsageError

SMALL = (2, 3, 2, 3, 3, 2, 2)  # the release: 6, 6, 2, 3, 3, 40, 40
COUNT = int(np.prod(SMALL))


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    monkeypatch.setattr(mpi3d, "LAYOUTS", {**mpi3d.LAYOUTS, COUNT: SMALL})
    return tmp_path


def write_mpi3d(path, count=COUNT, compressed=False, key="images", dtype=np.uint8, shape=(64, 64, 3)):
    images = np.random.default_rng(0).integers(0, 256, size=(count, *shape)).astype(dtype)
    (np.savez_compressed if compressed else np.savez)(path, **{key: images})
    return images


def test_images_are_memory_mapped_in_dlibs_row_order(data_dir):
    images = write_mpi3d(data_dir / "mpi3d_toy.npz")
    dataset = MPI3DToy()
    assert isinstance(dataset._images, np.memmap)
    assert dataset.factor_names == ["object_color", "object_shape", "object_size", "camera_height",
                                    "background_color", "horizontal_axis", "vertical_axis"]
    assert dataset.factor_sizes == SMALL and dataset.observation_shape == (3, 64, 64)
    assert dataset.groups == ["content", "colour", "geometry", "position"]
    factors = dataset.sample_factors(50, np.random.default_rng(0))
    factors[1] = factors[0]
    observations = dataset.observations_from_factors(factors, None)
    # dlib: indices = factors . (prod(sizes) / cumprod(sizes)); images[indices] / 255.
    bases = np.prod(SMALL) / np.cumprod(SMALL)
    expected = images[np.array(np.dot(factors, bases), dtype=np.int64)] / 255.0
    np.testing.assert_array_equal(observations, expected.astype(np.float32).transpose(0, 3, 1, 2))
    # one known image: the last factor combination is the last image of the file
    last = dataset.observations_from_factors(np.array([[s - 1 for s in SMALL]]), None)[0]
    np.testing.assert_array_equal(last, (images[-1] / 255.0).astype(np.float32).transpose(2, 0, 1))
    check_views_follow_groups(dataset, n=1000)


def test_factor_sizes_follow_the_release_from_the_image_count():
    assert mpi3d.LAYOUTS[1_036_800] == (6, 6, 2, 3, 3, 40, 40)
    assert mpi3d.LAYOUTS[460_800] == (4, 4, 2, 3, 3, 40, 40)
    assert all(int(np.prod(sizes)) == count for count, sizes in mpi3d.LAYOUTS.items())


def test_pickling_leaves_the_map_behind_and_workers_map_again(data_dir):
    write_mpi3d(data_dir / "mpi3d_real.npz")
    dataset = MPI3DReal()
    payload = pickle.dumps(dataset)
    assert len(payload) < COUNT * 64 * 64 * 3 // 10
    clone = pickle.loads(payload)
    np.testing.assert_array_equal(clone.sample(5, np.random.default_rng(1))[0], dataset.sample(5, np.random.default_rng(1))[0])


def test_missing_file_names_it_its_size_and_where_to_put_it(data_dir):
    with pytest.raises(UsageError) as excinfo:
        MPI3DToy()
    message = str(excinfo.value)
    assert str(data_dir / "mpi3d_toy.npz") in message and "12.7 GB" in message and "\n" not in message
    assert "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/mpi3d_toy.npz" in message


@pytest.mark.parametrize("problem,expected", [
    ({"compressed": True}, "stores 'images' compressed"),
    ({"key": "imgs"}, "has no 'images' array (arrays: imgs)"),
    ({"dtype": np.float32}, "expected (N, 64, 64, 3) uint8"),
    ({"shape": (32, 32, 3)}, "expected (N, 64, 64, 3) uint8"),
    ({"count": COUNT - 1}, f"has {COUNT - 1} images, expected 1,036,800 or 460,800"),
])
def test_bad_files_fail_with_one_line(data_dir, problem, expected):
    write_mpi3d(data_dir / "mpi3d_toy.npz", **problem)
    with pytest.raises(DisbenchError) as excinfo:
        MPI3DToy()
    message = str(excinfo.value)
    assert expected in message and str(data_dir / "mpi3d_toy.npz") in message and "\n" not in message


def test_truncated_files_fail_with_one_line(data_dir):
    path = data_dir / "mpi3d_toy.npz"
    write_mpi3d(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the zip's directory is at the end: gone
    with pytest.raises(DisbenchError, match="cannot be read") as excinfo:
        MPI3DToy()
    assert "\n" not in str(excinfo.value)


def test_short_member_is_refused_before_mapping(data_dir, monkeypatch):
    """A zip whose directory survives but whose member is cut short (a damaged copy)."""
    path = data_dir / "mpi3d_toy.npz"
    write_mpi3d(path)
    monkeypatch.setattr(mpi3d, "LAYOUTS", {COUNT: SMALL, COUNT * 2: tuple(s * (2 if i == 0 else 1) for i, s in enumerate(SMALL))})
    header = np.lib.format.header_data_from_array_1_0(np.zeros((COUNT * 2, 64, 64, 3), np.uint8))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive, archive.open("images.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(bytes(COUNT * 64 * 64 * 3))  # half the images its header announces
    with pytest.raises(DisbenchError, match="is truncated") as excinfo:
        MPI3DToy()
    assert "\n" not in str(excinfo.value)


def test_data_info_and_preview(cli, data_dir):
    result = cli("data", "info", "mpi3d-realistic")
    assert result.exit_code == 2 and "mpi3d_realistic.npz: not found" in result.output
    write_mpi3d(data_dir / "mpi3d_realistic.npz")
    result = cli("data", "info", "mpi3d-realistic")
    assert result.exit_code == 0 and "mpi3d_realistic.npz: found" in result.output
    preview = cli("data", "preview", "mpi3d-realistic", "--out", "mpi3d.png", "--samples", "4")
    assert preview.exit_code == 0, preview.output
