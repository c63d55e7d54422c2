"""The run folder's training lock: an OS lock that names its holder and never outlives it."""

from __future__ import annotations

import os

import pytest
from filelock import FileLock

from disbench.store import write_status
from disbench.store.jobs import current_holder, describe_holder
from disbench.store.run_lock import LOCK_FILE, RunLock, RunLocked, _locks_the_current_file


def test_a_second_lock_in_the_same_process_is_refused_naming_the_recorded_holder(tmp_path):
    run_dir = tmp_path / "run"
    with RunLock(run_dir):
        write_status(run_dir, state="running", **current_holder())
        with pytest.raises(RunLocked, match=f"being trained by pid {os.getpid()} on "):
            with RunLock(run_dir):
                pass
    with RunLock(run_dir):  # released on leaving the block
        pass


def test_a_run_folder_holding_only_the_lock_is_removed_and_one_with_files_kept(tmp_path):
    empty, used = tmp_path / "empty", tmp_path / "used"
    with RunLock(empty):
        assert (empty / LOCK_FILE).is_file()
    assert not empty.exists()
    with RunLock(used):
        (used / "config.yaml").write_text("method: pca\n")
    assert sorted(p.name for p in used.iterdir()) == ["config.yaml", LOCK_FILE]


def test_a_lock_on_a_file_its_holder_removed_is_told_apart_from_the_current_file(tmp_path):
    path = tmp_path / LOCK_FILE
    lock = FileLock(path)
    lock.acquire()
    try:
        assert _locks_the_current_file(lock, path)
        path.unlink()  # a holder leaving an empty folder removes the file a waiter may just have locked
        assert not _locks_the_current_file(lock, path)
        path.write_text("")  # and a third process may have made a new one
        assert not _locks_the_current_file(lock, path)
    finally:
        lock.release()


def test_a_holder_is_described_only_while_it_may_be_running():
    alive = {"state": "running", **current_holder(), "job_id": "123_4"}
    assert describe_holder(alive) == f"pid {os.getpid()} on {alive['host']} (job 123_4)"
    assert describe_holder({**alive, "state": "finished"}) is None
    assert describe_holder({"state": "new"}) is None
    assert describe_holder({**alive, "pid": 2**22 + 12345}) is None  # no such process on this host
