"""The single entry point for every developer task: ``nox -s <session>``."""

from __future__ import annotations

import pathlib

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests"]

SOURCES = [
    path
    for path in ("aio_s3_ingest", "tests", "benchmarks", "examples", "noxfile.py")
    if pathlib.Path(path).exists()
]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against a local moto S3 server."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=["3.10", "3.13"])
def compat(session: nox.Session) -> None:
    """Run the test suite on the oldest and newest supported Pythons."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check lint rules and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and the typed uses of its public API."""
    session.install("-e", ".[typing,demo,test]")
    session.run("mypy")


@nox.session
def demo(session: nox.Session) -> None:
    """Fetch a sample dataset from a local moto S3 server, then again as a cache hit."""
    session.install("-e", ".[demo]")
    session.run("python", "-m", "aio_s3_ingest", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Compare S3 downloaders on a local nginx origin; ``-- --quick`` for the CI-sized run."""
    session.install("uv")
    session.run("python", "benchmarks/run.py", *session.posargs)
