"""Running the command line as a user runs it: a separate process."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    cwd: pathlib.Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m aio_s3_ingest ARGS`` with this environment plus ``env``, minus ``unset``."""
    environ = {**os.environ, **(env or {})}
    for name in unset:
        environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "aio_s3_ingest", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        cwd=cwd,
        check=False,
    )
