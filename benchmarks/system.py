"""The Debian packages the harness needs, installed with apt-get when missing (as root).

nginx-light with the Lua module serves the origin (its SSL module serves the HTTPS
listeners too), curl measures it and runs the ceiling row, wrk counts small GETs/s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

LUA_MODULE = Path("/usr/lib/nginx/modules/ngx_http_lua_module.so")
APT_PACKAGES = ("nginx-light", "libnginx-mod-http-lua", "curl", "wrk")


def ensure_system_packages() -> None:
    """Install nginx + its Lua module, curl and wrk from Debian when missing (needs root)."""
    missing = [p for p in ("nginx", "curl", "wrk") if shutil.which(p) is None]
    if not missing and LUA_MODULE.exists():
        return
    if os.geteuid() != 0:
        raise SystemExit(f"please install: apt-get install -y {' '.join(APT_PACKAGES)}")
    print(f"installing {' '.join(APT_PACKAGES)} with apt-get", flush=True)
    apt_get("update")
    apt_get("install", "-y", "--no-install-recommends", *APT_PACKAGES)


def apt_get(*args: str, wait: float = 600.0) -> None:
    """apt-get, waiting while another program holds apt's or dpkg's lock (it fails at once)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + wait
    while True:
        run = subprocess.run(
            ["apt-get", "-q", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        if run.returncode == 0:
            return
        if "Could not get lock" not in run.stderr or time.monotonic() > deadline:
            raise SystemExit(f"apt-get {args[0]} failed (exit {run.returncode}):\n{run.stderr}")
        print(f"apt-get {args[0]}: another program holds the lock; waiting", flush=True)
        time.sleep(5)
