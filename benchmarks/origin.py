"""The local S3-compatible origin: nginx (sendfile) plus a small Lua handler.

moto tops out near 350 MB/s and a few hundred GETs/s, which would make every downloader look
the same. nginx serves the object files with sendfile and leaves Lua only the listing XML and
the ETag/If-Match checks, so the origin stays far ahead of the clients being measured.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import string
import subprocess
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
NGINX_DIR = HERE / "nginx"
LUA_MODULE = Path("/usr/lib/nginx/modules/ngx_http_lua_module.so")
APT_PACKAGES = ("nginx-light", "libnginx-mod-http-lua", "curl", "wrk")


def ensure_system_packages() -> None:
    """Install nginx + its Lua module, curl and wrk from Debian when missing (needs root)."""
    missing = [p for p in ("nginx", "curl", "wrk") if shutil.which(p) is None]
    if not missing and LUA_MODULE.exists():
        return
    if os.geteuid() != 0:
        raise SystemExit(f"please install: apt-get install -y {' '.join(APT_PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing {' '.join(APT_PACKAGES)} with apt-get", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Origin:
    """One nginx master process with a plain and a shaped listener; stop() kills it by PID."""

    def __init__(
        self, root: Path, objects_dir: Path, index_dir: Path, *, workers: int, ttfb_ms: float,
        rate_mib_s: float,
    ) -> None:  # fmt: skip
        self.root = root
        self.objects_dir = objects_dir
        self.index_dir = index_dir
        self.workers = workers
        self.ttfb_ms = ttfb_ms
        self.rate_mib_s = rate_mib_s
        self.plain_port = 0
        self.shaped_port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def endpoint(self, shaped: bool) -> str:
        return f"http://127.0.0.1:{self.shaped_port if shaped else self.plain_port}"

    def _render(self) -> Path:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.root / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        template = string.Template((NGINX_DIR / "nginx.conf.template").read_text())
        conf = template.substitute(
            workers=self.workers,
            work=self.root,
            lua_dir=NGINX_DIR,
            index_dir=self.index_dir,
            objects_dir=self.objects_dir,
            plain_port=self.plain_port,
            shaped_port=self.shaped_port,
            rate_bytes=int(self.rate_mib_s * (1 << 20)) if self.rate_mib_s > 0 else 0,
            ttfb_s=f"{self.ttfb_ms / 1000:.6f}",
        )
        path = self.root / "nginx.conf"
        path.write_text(conf)
        return path

    def start(self) -> None:
        """Start nginx in the foreground (daemon off), in its own session, on two free ports."""
        self.root.mkdir(parents=True, exist_ok=True)
        for attempt in range(5):
            self.plain_port, self.shaped_port = free_port(), free_port()
            conf = self._render()
            log = (self.root / "nginx.out").open("wb")
            self.proc = subprocess.Popen(
                [
                    "nginx",
                    "-p",
                    str(self.root),
                    "-e",
                    str(self.root / "error.log"),
                    "-c",
                    str(conf),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            if self._wait_ready():
                return
            self.stop()
            if attempt == 4:
                break
        raise RuntimeError(f"nginx did not start; see {self.root / 'error.log'}")

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                for port in (self.plain_port, self.shaped_port):
                    self._admin(port, "ping")
                return True
            time.sleep(0.05)
        return False

    def _admin(self, port: int, call: str) -> str:
        url = f"http://127.0.0.1:{port}/_origin/{call}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.read().decode()

    def reload_bucket(self, bucket: str) -> None:
        """Tell every nginx worker to re-read the bucket's index (after the harness rewrote it)."""
        self._admin(self.plain_port, f"reload/{bucket}")

    def stop(self) -> None:
        """SIGTERM the nginx master (it takes its workers down), SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __enter__(self) -> Origin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
