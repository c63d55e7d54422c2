"""Run specs, atomic writes and the leaderboard under concurrent appends."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from disbench.errors import DisbenchError
from disbench.store import LEADERBOARD_COLUMNS, RunSpec, append_rows, read_leaderboard


def test_run_id_hashes_the_whole_config():
    a = RunSpec("pca", "synthetic", 0, 0, {"num_fit": 10}, {})
    b = RunSpec("pca", "synthetic", 0, 0, {"num_fit": 11}, {})
    assert a.run_id != b.run_id and a.run_id.startswith("pca_synthetic_s0_")
    assert a.config_hash() == RunSpec("pca", "synthetic", 0, 0, {"num_fit": 10}, {}).config_hash()
    assert RunSpec.from_dict({**a.__dict__}) == a


def row(i: int, writer: int) -> dict:
    return {"run_id": f"r{writer}", "method": "m", "metric": "mig", "factor": "all", "space": "latent", "value": i / 100}


def _append_many(args):
    path, writer, count = args
    for i in range(count):
        append_rows(path, [row(i, writer)])


def test_concurrent_appends_lose_no_row(tmp_path):
    path = tmp_path / "results" / "leaderboard.csv"
    context = mp.get_context("spawn")
    with context.Pool(4) as pool:
        pool.map(_append_many, [(str(path), w, 25) for w in range(4)])
    frame = read_leaderboard(path)
    assert len(frame) == 100
    assert sorted(frame.groupby("run_id").size().tolist()) == [25, 25, 25, 25]
    assert list(frame.columns) == LEADERBOARD_COLUMNS
    assert not list(path.parent.glob(".*.tmp"))  # no temporary files left behind


def test_leaderboard_with_missing_columns_is_reported(tmp_path):
    path = tmp_path / "lb.csv"
    path.write_text("method,value\nx,1\n")
    with pytest.raises(DisbenchError, match="lacks columns run_id, config_hash"):
        read_leaderboard(path)
    with pytest.raises(DisbenchError):
        append_rows(path, [row(0, 0)])
    assert path.read_text() == "method,value\nx,1\n"  # nothing lost


def test_missing_leaderboard_reads_empty(tmp_path):
    assert read_leaderboard(tmp_path / "none.csv").empty


def test_atomic_writes_respect_the_umask(tmp_path):
    import os

    from disbench.atomic import write_text

    previous = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
