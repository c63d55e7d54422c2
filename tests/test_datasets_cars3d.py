"""Cars3D: car_*_mesh.mat files written through scipy in the released layout, read as disentanglement_lib does."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from PIL import Image

from dataset_checks import check_views_follow_groups
from disbench.datasets.cars3d import Cars3D
from disbench.errors import DisbenchError, UsageError

AZIMUTHS, ELEVATIONS, MODELS = 5, 2, 3  # the release: 24, 4, 183


def write_cars(folder, models=MODELS, shape=None, seed=0):
    """``im`` of shape (128, 128, 3, azimuths, elevations) uint8 per car, and a ``mask`` (not read)."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    meshes = []
    for number in range(models):
        im = rng.integers(0, 256, size=shape or (128, 128, 3, AZIMUTHS, ELEVATIONS), dtype=np.uint8)
        scipy.io.savemat(folder / f"car_{number * 7 + 1:03d}_mesh.mat", {"im": im, "mask": im[:, :, 0] > 128})
        meshes.append(im)
    (folder / "list.txt").write_text("\n".join(f"car_{n * 7 + 1:03d}_mesh" for n in range(models)))
    return meshes


def dlib_load(folder, file_names):
    """A transcription of dlib's Cars3D._load_data and _load_mesh (files in the given order)."""
    sizes = [ELEVATIONS, AZIMUTHS, len(file_names)]
    bases = np.prod(sizes) / np.cumprod(sizes)
    dataset = np.zeros((int(np.prod(sizes)), 64, 64, 3))
    for i, name in enumerate(file_names):
        mesh = np.einsum("abcde->deabc", scipy.io.loadmat(folder / name)["im"])
        flattened = mesh.reshape((-1,) + mesh.shape[2:])
        rescaled = np.zeros((flattened.shape[0], 64, 64, 3))
        for j in range(flattened.shape[0]):
            picture = Image.fromarray(flattened[j])
            picture.thumbnail((64, 64), Image.Resampling.LANCZOS)
            rescaled[j] = np.array(picture)
        all_factors = np.transpose([
            np.tile(np.arange(ELEVATIONS), AZIMUTHS),
            np.repeat(np.arange(AZIMUTHS), ELEVATIONS),
            np.tile(i, ELEVATIONS * AZIMUTHS),
        ])
        dataset[np.array(np.dot(all_factors, bases), dtype=np.int64)] = rescaled / 255.0
    return dataset, bases


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    return tmp_path


def test_factors_and_images_follow_dlibs_loader(data_dir):
    meshes = write_cars(data_dir / "cars")
    dataset = Cars3D()
    assert dataset.factor_names == ["elevation", "azimuth", "object_type"]
    assert dataset.factor_sizes == (ELEVATIONS, AZIMUTHS, MODELS) and dataset.observation_shape == (3, 64, 64)
    assert dataset.groups == ["content", "elevation", "azimuth"]
    names = sorted(p.name for p in (data_dir / "cars").glob("*.mat"))
    images, bases = dlib_load(data_dir / "cars", names)
    factors = dataset.sample_factors(40, np.random.default_rng(0))
    observations = dataset.observations_from_factors(factors, np.random.default_rng(1))
    expected = images[np.array(np.dot(factors, bases), dtype=np.int64)].astype(np.float32)
    np.testing.assert_array_equal(observations, expected.transpose(0, 3, 1, 2))
    # one known image: car 2, elevation 1, azimuth 3 is im[:, :, :, 3, 1] of the third file, resized
    known = Image.fromarray(np.ascontiguousarray(meshes[2][:, :, :, 3, 1])).resize((64, 64), Image.Resampling.LANCZOS)
    observation = dataset.observations_from_factors(np.array([[1, 3, 2]]), None)[0]
    np.testing.assert_array_equal(observation, (np.asarray(known) / 255.0).astype(np.float32).transpose(2, 0, 1))
    check_views_follow_groups(dataset, n=1000)


def test_missing_folder_says_where_to_put_it(data_dir):
    with pytest.raises(UsageError) as excinfo:
        Cars3D()
    message = str(excinfo.value)
    assert str(data_dir / "cars") in message and "nips2015-analogy-data.tar.gz" in message and "\n" not in message
    (data_dir / "cars").mkdir()
    with pytest.raises(UsageError, match="holds no .mat files"):
        Cars3D()


@pytest.mark.parametrize("problem,expected", [
    ("truncated", "cannot be read as a MATLAB file"),
    ("no_im", "has no 'im' array"),
    ("shape", "expected (128, 128, 3, 24, 4) uint8"),
    ("mixed", "where car_001_mesh.mat has"),
])
def test_bad_files_fail_with_one_line(data_dir, problem, expected):
    write_cars(data_dir / "cars")
    path = data_dir / "cars" / "car_008_mesh.mat"
    if problem == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif problem == "no_im":
        scipy.io.savemat(path, {"mask": np.zeros((4, 4))})
    elif problem == "shape":
        scipy.io.savemat(path, {"im": np.zeros((128, 128, 4, 5, 2), dtype=np.uint8)})
    elif problem == "mixed":
        scipy.io.savemat(path, {"im": np.zeros((128, 128, 3, 4, 2), dtype=np.uint8)})
    with pytest.raises(DisbenchError) as excinfo:
        Cars3D()
    message = str(excinfo.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_data_info_and_preview(cli, data_dir):
    result = cli("data", "info", "cars3d")
    assert result.exit_code == 2 and "cars: not found" in result.output and str(data_dir / "cars") in result.output
    write_cars(data_dir / "cars", models=2)
    result = cli("data", "info", "cars3d")
    assert result.exit_code == 0 and "object_type" in result.output and "cars: found" in result.output
    preview = cli("data", "preview", "cars3d", "--out", "cars.png", "--samples", "4")
    assert preview.exit_code == 0, preview.output
