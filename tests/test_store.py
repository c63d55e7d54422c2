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


def row(i: int, writer: int, batch: int = 0) -> dict:
    """A row whose every field names its writer, batch and position, so a merged row shows."""
    tag = f"w{writer}b{batch}i{i}"
    return {"run_id": f"r{writer}", "method": "m", "metric": "mig", "factor": tag, "space": f"space-{tag}",
            "value": writer * 10_000 + batch * 10 + i}


WRITERS, BATCHES, ROWS_PER_BATCH = 4, 12, 3


def _append_batches(path, writer, start):
    start.wait(timeout=120)  # every writer begins together, so their appends overlap
    for batch in range(BATCHES):
        assert append_rows(path, [row(i, writer, batch) for i in range(ROWS_PER_BATCH)]) == ROWS_PER_BATCH


def test_concurrent_multi_row_appends_lose_and_merge_no_row(tmp_path):
    path = tmp_path / "results" / "leaderboard.csv"
    context = mp.get_context("spawn")
    start = context.Barrier(WRITERS)
    writers = [context.Process(target=_append_batches, args=(str(path), w, start)) for w in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    assert [process.exitcode for process in writers] == [0] * WRITERS
    frame = read_leaderboard(path)
    assert list(frame.columns) == LEADERBOARD_COLUMNS
    expected = {(row(i, w, b)["factor"], row(i, w, b)["space"], row(i, w, b)["value"], f"r{w}")
                for w in range(WRITERS) for b in range(BATCHES) for i in range(ROWS_PER_BATCH)}
    found = list(zip(frame["factor"], frame["space"], frame["value"], frame["run_id"]))
    assert len(found) == len(expected) and set(found) == expected  # each row once, its fields together
    for writer in range(WRITERS):  # a writer's batches keep their order
        mine = frame[frame["run_id"] == f"r{writer}"]["value"].tolist()
        assert mine == sorted(mine)
    batch_of = (frame["value"] // 10).tolist()  # one batch's rows stay adjacent: appended in one piece
    for start in range(0, len(batch_of), ROWS_PER_BATCH):
        assert len(set(batch_of[start : start + ROWS_PER_BATCH])) == 1
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

    from disbench.store.atomic import write_text

    previous = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_a_rescore_at_another_protocol_is_kept_beside_the_first(tmp_path):
    from disbench.store import write_rows

    path = tmp_path / "lb.csv"
    suite = {"run_id": "r", "space": "latent", "metric": "mig", "factor": "all", "value": 0.1, "metric_options": "{}",
             "steps": 5, "n_eval": 4000, "n_test": 2000, "eval_seed": 0}
    write_rows(path, [suite])
    for protocol in ({"n_eval": 10000, "n_test": 5000}, {"n_test": 1000}, {"eval_seed": 1}):
        assert write_rows(path, [{**suite, **protocol, "value": 0.2}]).replaced == 0
    assert len(read_leaderboard(path)) == 4
    summary = write_rows(path, [{**suite, "value": 0.3, "n_eval": "4000.0"}])  # the same protocol: a rescore
    assert (summary.replaced, summary.added) == (1, 1) and len(read_leaderboard(path)) == 4
