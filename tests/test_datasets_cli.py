"""`disbench data preview / prepare / info` over the dataset API."""

from __future__ import annotations


def test_data_preview_writes_a_png(cli, tmp_path):
    out = tmp_path / "sprites.png"
    result = cli("data", "preview", "dsprites", "--out", str(out), "--samples", "8")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_data_preview_into_a_missing_folder_is_a_usage_error(cli, tmp_path):
    result = cli("data", "preview", "dsprites", "--out", str(tmp_path / "no" / "x.png"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_data_prepare_refuses_file_datasets_and_unknown_names(cli, tmp_path):
    result = cli("data", "prepare", "shapes3d", "--cache-dir", str(tmp_path))
    assert result.exit_code == 2 and "nothing to prepare" in result.output
    result = cli("data", "prepare", "dsprite", "--cache-dir", str(tmp_path))
    assert result.exit_code == 2 and "Did you mean 'dsprites'" in result.output


def test_data_info_shows_where_a_missing_file_was_looked_for(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path))
    result = cli("data", "info", "shapes3d")
    assert result.exit_code == 2
    assert "3dshapes.h5: not found" in result.output and str(tmp_path / "3dshapes.h5") in result.output
    result = cli("data", "info", "dsprites")
    assert result.exit_code == 0 and "pixels from: rendered in-process" in result.output


def test_preview_of_vector_data_is_labelled_scatter_plots(tmp_path):
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.collections import PathCollection

    from disbench.datasets import DATASETS
    from disbench.datasets.preview import preview_figure

    for name in ("synthetic", "product-manifold"):
        dataset = DATASETS.get(name)()
        figure = preview_figure(dataset, np.random.default_rng(0), n_samples=200)
        labels = {label for axis in figure.get_axes() for label in (axis.get_xlabel(), axis.get_ylabel()) if label}
        assert any(dataset.factors[0].name in label for label in labels)  # factors named on their axes
        assert "x[1]" in labels  # observation coordinates named
        assert "distance from query to key (observation space)" in labels
        scatters = [c for axis in figure.get_axes() for c in axis.collections if isinstance(c, PathCollection)]
        assert scatters and all(len(c.get_offsets()) == 200 for c in scatters)
        assert not any(axis.images for axis in figure.get_axes())  # no vectors drawn as image strips
        plt.close(figure)


def test_preview_writes_svg_when_asked(cli, tmp_path):
    result = cli("data", "preview", "synthetic", "--out", "s.svg", "--samples", "50")
    assert result.exit_code == 0, result.output
    assert b"<svg" in (tmp_path / "s.svg").read_bytes()[:500]


def test_data_info_shows_the_size_and_the_card(cli, tmp_path):
    from image_folders import make_image_folder

    result = cli("data", "info", "dsprites")
    assert "size: 737,280 points" in result.stdout and "datasets/dsprites.yaml" in result.stdout
    assert "size: unbounded" in cli("data", "info", "synthetic").stdout
    make_image_folder(tmp_path / "imgs", per_class=2)
    folder = cli("data", "info", "imagefolder", "--set", "root=imgs")
    assert folder.exit_code == 0, folder.output
    assert "size: 6 images in 3 classes" in folder.stdout
    assert " kB" in folder.stdout  # the folder's bytes beside "found"
