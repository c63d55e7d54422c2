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
