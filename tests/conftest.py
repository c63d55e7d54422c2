"""Shared fixtures: tiny datasets, an isolated working folder, a CLI runner."""

from __future__ import annotations

import os

import pytest

# tiny models run faster on one thread, and tests must not fight over the two cores
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """Every test runs in its own folder so runs/ and results/ never leak between tests."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISBENCH_CACHE", str(tmp_path / "cache"))
    yield


@pytest.fixture
def cli():
    """Invoke the CLI in-process: ``cli("train", "-m", "pca")`` returns the Click result."""
    from typer.testing import CliRunner

    from disbench.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke
