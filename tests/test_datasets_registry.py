"""Every registered dataset that needs no external file: samples, shapes, views, preview, locate."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets import DATASETS, Views
from disbench.datasets.cache import locate, prepare
from disbench.datasets.preview import write_preview
from disbench.errors import UsageError


@pytest.fixture(autouse=True)
def no_user_files(monkeypatch, tmp_path):
    monkeypatch.delenv("DISBENCH_DATA", raising=False)
    monkeypatch.setenv("DISBENCH_CACHE", str(tmp_path / "cache"))


def missing_user_files(name: str) -> dict[str, str]:
    """The files or folders the dataset looks for and did not find: name -> where it looked."""
    status = locate(name)
    return {key: entry["looked for"] for key, entry in status.items() if isinstance(entry, dict) and not entry["found"]}


def build_or_skip(name):
    """Build the dataset; skip only when it needs a file the user supplies, is missing it, and says so.

    Any other UsageError (a broken default, a bad option) fails the test: a dataset that
    needs no files must build. The skip names the missing file and where it was looked for.
    """
    try:
        return DATASETS.get(name)()
    except UsageError as exc:
        named = {key: where for key, where in missing_user_files(name).items()
                 if key in str(exc) or where.split(" (")[0] in str(exc)}
        if not named:
            raise
        pytest.skip(f"{name} needs {', '.join(f'{key} (looked for {where})' for key, where in named.items())}")


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_samples_renders_and_yields_views(name):
    dataset = build_or_skip(name)
    rng = np.random.default_rng(0)
    observations, factors = dataset.sample(6, rng)
    assert observations.shape == (6, *dataset.observation_shape)
    assert observations.dtype == np.float32
    assert factors.shape == (6, len(dataset.factors))
    if dataset.has_views:
        views = dataset.sample_views(4, rng)
        assert isinstance(views, Views)
        for key in [views.query, views.content_key, *views.group_keys.values()]:
            assert key.shape == (4, *dataset.observation_shape)
        assert list(views.group_keys) == dataset.style_groups
    assert isinstance(locate(name), dict) and isinstance(locate(dataset), dict)


def test_only_a_missing_user_file_is_a_skip(monkeypatch):
    from disbench.datasets.synthetic import SyntheticDataset

    # a dataset that needs no file but rejects its own defaults must fail, not skip
    def broken(self, config=None):
        raise UsageError("option content_dims must be at least 1")

    monkeypatch.setattr(SyntheticDataset, "__init__", broken)
    with pytest.raises(UsageError, match="content_dims"):
        build_or_skip("synthetic")
    # a dataset whose user file is absent skips, naming the file and where it looked
    with pytest.raises(pytest.skip.Exception, match=r"shapes3d needs 3dshapes.h5 \(looked for .*3dshapes.h5"):
        build_or_skip("shapes3d")
    # dSprites finds no released file here, yet renders: it builds instead of skipping
    assert build_or_skip("dsprites").factors


@pytest.mark.parametrize("name", ["dsprites", "color-dsprites", "synthetic"])
def test_preview_is_a_png(name, tmp_path):
    path = write_preview(DATASETS.get(name)(), tmp_path / f"{name}.png", np.random.default_rng(0), n_samples=8)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_locate_reports_missing_files_without_raising(tmp_path):
    status = locate("shapes3d", data_dir=str(tmp_path))
    assert status["3dshapes.h5"] == {"looked for": str(tmp_path / "3dshapes.h5"), "found": False}
    status = locate("dsprites", data_dir=str(tmp_path / "nowhere"))
    assert "does not exist" in status["dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"]["problem"]


def test_prepare_refuses_datasets_read_from_user_files(tmp_path):
    with pytest.raises(UsageError, match="nothing to prepare"):
        prepare("shapes3d", tmp_path)
    with pytest.raises(UsageError, match="unknown dataset"):
        prepare("dsprite", tmp_path)


def test_cache_folder_option_then_env_then_the_platform_user_cache(monkeypatch, tmp_path):
    import sys

    from disbench.datasets.locations import cache_dir

    assert cache_dir(str(tmp_path / "given")) == tmp_path / "given"
    assert cache_dir() == tmp_path / "cache"  # DISBENCH_CACHE, set by the fixture
    monkeypatch.delenv("DISBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache_dir() == tmp_path / "xdg" / "disbench"
    else:
        assert cache_dir().name == "disbench"
