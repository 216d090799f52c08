"""What README.md says, checked as text: the nox commands, the endpoint variable, no
benchmark figures, and the test command CI runs (its Python blocks run against the moto
server in tests/server/test_readme.py)."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_readme_nox_commands_use_the_venv() -> None:
    """Every nox command README.md gives runs the nox of the set-up commands' venv."""
    text = README.read_text()
    commands = re.findall(r"[\w./]*nox -s [\w -]+", text)
    assert commands
    assert all(command.startswith(".venv/bin/nox -s") for command in commands), commands


def test_one_endpoint_variable_throughout() -> None:
    """The README and the examples name AWS_ENDPOINT_URL, the variable the library reads;
    none names another (such as S3_ENDPOINT_URL)."""
    files = [README, *sorted((ROOT / "examples").iterdir())]
    texts = {path.name: path.read_text() for path in files if path.suffix in (".md", ".py")}
    for name, text in texts.items():
        variables = set(re.findall(r"\b[A-Z0-9_]*ENDPOINT_URL[A-Z0-9_]*\b", text))
        assert variables <= {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"}, name
    assert all("AWS_ENDPOINT_URL" in texts[name] for name in ("fastapi_app.py", "README.md"))


def test_readme_leaves_benchmark_figures_to_the_benchmarks() -> None:
    """README.md's user sections carry no benchmark diary: no CPU or millisecond timings,
    no per-run wall times (they are in benchmarks/README.md)."""
    text = README.read_text()
    for pattern in (r"\d ms\b", r"s of CPU", r"\b872\b", r"\d\.\d\d s or \d"):
        assert not re.search(pattern, text), pattern
    moved = (ROOT / "benchmarks" / "README.md").read_text()
    assert "8.6 ms per page" in moved
    assert "0.92 s and\n  0.93 s of CPU" in moved


def test_ci_runs_the_readme_test_command() -> None:
    """`.ci/run` runs the test command exactly as the README gives it to users."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in readme.splitlines() if line.endswith("nox -s tests")]
    assert len(commands) == 1
    assert commands[0] in ci.splitlines()
