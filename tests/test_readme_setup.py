"""The README's set-up is what CI runs, and tells a CPU user how to avoid the CUDA wheels."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _setup_section() -> str:
    readme = (REPO / "README.md").read_text()
    return readme[readme.index("## Set up"):readme.index("\n## ", readme.index("## Set up") + 1)]


def test_ci_installs_exactly_as_the_readme_says():
    ci_installs = re.findall(r"pip install (.+?) \|\|", (REPO / ".ci" / "run").read_text())
    assert ci_installs, "no install command found in .ci/run"
    section = _setup_section()
    for arguments in ci_installs:
        assert f"pip install {arguments}" in section, arguments


def test_setup_shows_a_virtual_environment_and_cpu_wheels():
    section = _setup_section()
    assert "python3 -m venv .venv" in section and "source .venv/bin/activate" in section
    assert "--index-url https://download.pytorch.org/whl/cpu" in section
