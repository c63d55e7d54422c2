"""The commands in the README and docs/ use options that exist, and the docs' Python imports work."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
COMMAND = re.compile(r"^(?:PYTHONPATH=\S+\s+)?(?:python3? -m )?disbench(?:\s+-{0,2}[a-z][a-z-]*(?:\s.*)?)?$")


def _code_blocks(path: Path, languages: tuple[str, ...]) -> list[str]:
    blocks = re.findall(r"```([a-z]*)\n(.*?)```", path.read_text(), flags=re.S)
    return [body for language, body in blocks if language in languages]


def _command_lines() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for block in _code_blocks(path, ("", "bash", "sh", "console")):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():  # a command continued with `\`: one line
                line = line.split("  #")[0].strip().removeprefix("$ ")
                if COMMAND.match(line):
                    found.append((path.name, line))
    return found


def _options_of(command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


@pytest.mark.parametrize("doc, line", _command_lines())
def test_documented_commands_use_existing_commands_and_options(doc, line):
    from typer.main import get_command

    from disbench.cli import app

    tokens = shlex.split(line.replace("|", " "))
    tokens = tokens[tokens.index("disbench") + 1:]
    command = get_command(app)
    valid = _options_of(command)
    for token in tokens:
        if token.startswith("-") and token != "-":
            option = token.split("=")[0]
            assert option in valid, f"{doc}: `{line}`: {command.name} has no option {option}"
        elif hasattr(command, "commands") and token in command.commands:
            command = command.commands[token]
            valid = _options_of(command)


@pytest.mark.parametrize("doc", [p for p in DOCS if _code_blocks(p, ("python",))], ids=lambda p: p.name)
def test_documented_python_imports_work(doc):
    for block in _code_blocks(doc, ("python",)):
        imports = "\n".join(line for line in block.splitlines() if re.match(r"^(import|from) \S+", line))
        exec(compile(imports, f"{doc.name} imports", "exec"), {})
        names = set(re.findall(r"\b(np|pd|plt|torch)\.", block))
        for alias in names:
            assert re.search(rf"\bas {alias}\b|^import {alias}\b", imports, flags=re.M), f"{doc.name}: uses {alias}. without importing it"


def _readme_codes_example() -> tuple[str, list[str]]:
    """The README's Python block that writes the codes files, and its `eval --codes` command's arguments."""
    import shlex

    [snippet] = [b for b in _code_blocks(REPO / "README.md", ("python",)) if "my_codes.npz" in b]
    [line] = {line for _, line in _command_lines() if "--codes my_codes.npz" in line}
    return snippet, shlex.split(line)[1:]


def test_the_readme_codes_example_writes_files_of_the_documented_layout(tmp_path, monkeypatch, cli):
    import numpy as np

    monkeypatch.chdir(tmp_path)
    snippet, arguments = _readme_codes_example()
    exec(compile(snippet, "README codes example", "exec"), {})
    codes, factors = np.load("my_codes.npz")["codes"], np.load("my_factors.npz")["factors"]
    assert codes.ndim == 2 and factors.ndim == 2 and len(codes) == len(factors)
    quick = [a if a != "all" else "mig" for a in arguments]  # the same command, one cheap metric
    result = cli(*quick, "--leaderboard", "lb.csv")
    assert result.exit_code == 0, result.output
    assert "codes:mymodel" in result.stdout and "mig" in result.stdout


@pytest.mark.slow
def test_the_readme_codes_command_runs_as_written(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    snippet, arguments = _readme_codes_example()
    exec(compile(snippet, "README codes example", "exec"), {})
    result = cli(*arguments)
    assert result.exit_code == 0, result.output
    assert "rows written" in result.stderr


def test_documented_pipes_feed_programs_not_more_disbench_words():
    kinds = {"methods", "datasets", "metrics", "suites"}
    for doc, line in _command_lines():
        for part in line.split(" | ")[1:]:
            assert part.split()[0] not in kinds, f"{doc}: `{line}` reads as a shell pipe into {part.split()[0]!r}"


def test_the_readme_says_what_to_do_when_the_cpu_wheel_index_is_out_of_reach():
    text = (REPO / "README.md").read_text()
    after = text[text.index("--index-url https://download.pytorch.org/whl/cpu"):][:1500]
    assert "https_proxy" in after and "mirror" in after
