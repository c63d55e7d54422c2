"""The README's set-up is what CI runs, and tells a CPU user how to avoid the CUDA wheels."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the README's words that introduce the install block CI runs
CI_BLOCK_ANCHOR = "exactly as CI installs"


def _setup_section() -> str:
    readme = (REPO / "README.md").read_text()
    return readme[readme.index("## Set up"):readme.index("\n## ", readme.index("## Set up") + 1)]


def _commands(block: str) -> list[list[str]]:
    """The commands of a bash block as the shell splits them, comments dropped."""
    return [words for line in block.splitlines() if (words := shlex.split(line, comments=True))]


def _block_after(text: str, anchor: str) -> str:
    start = text.index(anchor)
    return re.search(r"```bash\n(.*?)```", text[start:], re.S).group(1)


def readme_ci_commands() -> list[list[str]]:
    """What CI must run: the first set-up block, the block CI installs with, the test command."""
    section = _setup_section()
    first = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = _commands(first) + _commands(_block_after(section, CI_BLOCK_ANCHOR))
    readme = (REPO / "README.md").read_text()
    commands += _commands(_block_after(readme, "Run the tests with"))
    # CI makes its virtual environment in a temporary folder, not in the checkout
    return [[word.replace(".venv", "$venv") for word in command] for command in commands]


def ci_commands() -> list[list[str]]:
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    return [shlex.split(line)[1:] for line in lines if line.startswith("readme ")]


def test_ci_runs_exactly_the_readme_setup_and_test_commands():
    expected = readme_ci_commands()
    assert ["python3", "-m", "venv", "$venv"] in expected and expected[-1] == ["pytest"], expected
    assert ci_commands() == expected


def test_ci_builds_a_fresh_environment_and_fails_when_no_test_ran():
    script = (REPO / ".ci" / "run").read_text()
    assert 'work=$(mktemp -d)' in script and 'venv="$work/.venv"' in script
    assert "unset PYTHONPATH" in script
    assert 'if [ "$ran" -le 0 ]' in script


def test_setup_shows_a_virtual_environment_and_cpu_wheels():
    section = _setup_section()
    assert "python3 -m venv .venv" in section and "source .venv/bin/activate" in section
    assert "--index-url https://download.pytorch.org/whl/cpu" in section


def _extra(name: str) -> str:
    """The requirement list of an optional-dependencies entry of pyproject.toml, as written
    (read without tomllib, which Python 3.10 lacks)."""
    return re.search(rf"^{name} = \[(.*?)\]$", (REPO / "pyproject.toml").read_text(), re.M).group(1)


def test_the_dev_extra_holds_what_the_tests_import():
    dev = _extra("dev")
    assert "pytest" in dev
    # the tests use timm, open_clip and safetensors (pretrained encoders) and submitit (cluster executor)
    for extra in ("encoders", "slurm"):
        assert re.search(rf"disbench\[[^\]]*\b{extra}\b", dev), extra
    assert "safetensors" in _extra("encoders") and "submitit" in _extra("slurm")
