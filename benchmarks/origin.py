"""The local S3-compatible origin: nginx (sendfile) plus a small Lua handler.

moto tops out near 350 MB/s and a few hundred GETs/s, which would make every downloader look
the same. nginx serves the object files with sendfile and leaves Lua only the listing XML and
the ETag/If-Match checks, so the origin stays far ahead of the clients being measured.

Each listener has a TLS twin in the same nginx (same server block, so the same Lua
handlers and shaping), serving a certificate of the harness's throwaway CA (tlsca.py).
nginx gets its listening sockets from the harness (listeners.py), so no other process can
hold or share its ports, and the origin counts as up only once every worker has answered a
ping with this start's token on all four listeners (over HTTPS with the CA for the twins)
and every bucket's index and files have been checked over both schemes.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import signal
import socket
import string
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import listeners
from tlsca import TLSFiles

HERE = Path(__file__).resolve().parent
NGINX_DIR = HERE / "nginx"
START_TIMEOUT = 30.0
# The listeners, as (shaped, tls): plain, shaped, and their TLS twins.
LISTENERS = ((False, False), (True, False), (False, True), (True, True))


def user_directive() -> str:
    """Run the workers as the harness's own user, so they read every file the harness wrote.

    A root master otherwise switches its workers to ``nobody``, which cannot read a clone
    under /root or one written with umask 077: every object then answers 404.
    """
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"({exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


class OriginError(RuntimeError):
    """The origin did not start, or is not the one answering: the message says why."""


class Origin:
    """One nginx master process with a plain and a shaped listener and their TLS twins;
    stop() kills it by PID."""

    def __init__(
        self, root: Path, objects_dir: Path, index_dir: Path, *, tls: TLSFiles, workers: int,
        ttfb_ms: float, rate_mib_s: float, buckets: Mapping[str, int] | None = None,
    ) -> None:  # fmt: skip
        self.root = root
        self.objects_dir = objects_dir
        self.index_dir = index_dir
        self.workers = workers
        self.ttfb_ms = ttfb_ms
        self.rate_mib_s = rate_mib_s
        # bucket -> rows its index must hold, checked before the origin counts as up
        self.buckets = dict(buckets or {})
        self.tls = tls
        # Admin calls go straight to the origin, whatever proxy the environment names, and
        # check the certificate with the CA the peers are given.
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=tls.context())
        )
        self.ports: dict[tuple[bool, bool], int] = {}
        self.token = ""
        self.ours: set[int] = set()
        self.proc: subprocess.Popen[bytes] | None = None

    def endpoint(self, shaped: bool, tls: bool = False) -> str:
        """The listener's base URL; the certificate names 127.0.0.1, so HTTPS verifies."""
        return f"{'https' if tls else 'http'}://127.0.0.1:{self.ports[shaped, tls]}"

    def _render(self) -> Path:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.root / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        template = string.Template((NGINX_DIR / "nginx.conf.template").read_text())
        conf = template.substitute(
            user=user_directive(),
            workers=self.workers,
            work=self.root,
            lua_dir=NGINX_DIR,
            index_dir=self.index_dir,
            token=self.token,
            objects_dir=self.objects_dir,
            plain_port=self.ports[False, False],
            shaped_port=self.ports[True, False],
            plain_tls_port=self.ports[False, True],
            shaped_tls_port=self.ports[True, True],
            ssl_certificate=self.tls.cert,
            ssl_certificate_key=self.tls.key,
            rate_bytes=int(self.rate_mib_s * (1 << 20)) if self.rate_mib_s > 0 else 0,
            ttfb_s=f"{self.ttfb_ms / 1000:.6f}",
        )
        path = self.root / "nginx.conf"
        path.write_text(conf)
        return path

    def start(self, tries: int = 3) -> None:
        """Start nginx and wait until it is ready; new ports if another listener joined ours."""
        self.root.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, tries + 1):
            found = self._start_once()
            if not found:
                return
            self.stop()
            print(f"origin: other listeners on our ports (try {attempt}): {found}", flush=True)
        raise OriginError(f"other listeners joined our ports in {tries} tries")

    def _start_once(self) -> list[str]:
        """nginx on sockets claimed now, held until it is ready; returns strangers on its ports."""
        self.token = secrets.token_hex(8)
        groups: list[list[socket.socket]] = []
        try:
            for _ in LISTENERS:
                groups.append(listeners.claim(self.workers))
            ports = [listeners.port_of(group) for group in groups]
            self.ports = dict(zip(LISTENERS, ports, strict=True))
            socks = [sock for group in groups for sock in group]
            self.ours = listeners.inodes(socks)
            self._spawn(socks)
            self._wait_ready()
        finally:
            for group in groups:
                listeners.close(group)
        self._check_buckets()
        return self.strangers()

    def _spawn(self, socks: list[socket.socket]) -> None:
        """nginx in the foreground (daemon off), in its own session, inheriting ``socks``."""
        conf = self._render()
        (self.root / "error.log").unlink(missing_ok=True)
        argv = ["nginx", "-p", str(self.root), "-e", str(self.root / "error.log"), "-c", str(conf)]
        with (self.root / "nginx.out").open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **listeners.nginx_env(socks)},
                pass_fds=[sock.fileno() for sock in socks],
                start_new_session=True,
            )

    def _wait_ready(self) -> None:
        """Until all four listeners answered with our token, from every worker between them."""
        deadline = time.monotonic() + START_TIMEOUT
        answered: dict[tuple[bool, bool], set[str]] = {key: set() for key in LISTENERS}
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                self._fail(f"nginx exited with status {code} before it was ready")
            for key, pids in answered.items():
                try:
                    pids.add(self._ping(key))
                except OSError as exc:  # ssl.SSLError and URLError are OSErrors too
                    last = f"{self.endpoint(*key)}: {exc}"
            if all(answered.values()) and len(set.union(*answered.values())) >= self.workers:
                return
            time.sleep(0.02)
        self._fail(f"not ready after {START_TIMEOUT:g} s; last: {last}; answers: {answered}")

    def _ping(self, listener: tuple[bool, bool]) -> str:
        """The answering worker's pid, once its answer carries this start's token."""
        reply = self._admin(listener, "ping").split()
        if reply[:2] != ["pong", self.token]:
            raise ConnectionError(f"answered by another server: {' '.join(reply)[:80]!r}")
        return reply[2]

    def _check_buckets(self) -> None:
        """Every bucket's index loads in a worker, with all its files there and readable,
        asked over plain HTTP and over HTTPS."""
        for bucket, rows in self.buckets.items():
            for listener in ((False, False), (False, True)):
                try:
                    # A worker loads a bucket's index on first use: seconds for 1M keys.
                    reply = self._admin(listener, f"check/{bucket}", timeout=120).strip()
                except urllib.error.HTTPError as exc:
                    reply = f"HTTP {exc.code}: {exc.read().decode(errors='replace').strip()}"
                except OSError as exc:
                    reply = str(exc)
                if reply != f"ok {rows}":
                    where = self.endpoint(*listener)
                    self._fail(f"bucket {bucket} ({where}): expected 'ok {rows}', got {reply!r}")

    def _fail(self, why: str) -> None:
        diagnosis = self.diagnose()
        self.stop()
        raise OriginError(f"origin: {why}\n{diagnosis}")

    def diagnose(self) -> str:
        """nginx's error log and output, and any other listener on our ports, for a failure."""
        out = [f"nginx error log ({self.root / 'error.log'}), last lines:"]
        out.append(tail(self.root / "error.log"))
        out += ["nginx output:", tail(self.root / "nginx.out", 10)]
        found = self.strangers()
        out.append(f"other listeners on our ports: {found or 'none'}")
        return "\n".join(out)

    def strangers(self) -> list[str]:
        ports = [p for p in self.ports.values() if p]
        return [s for port in ports for s in listeners.strangers(port, self.ours)]

    def _admin(self, listener: tuple[bool, bool], call: str, timeout: float = 5) -> str:
        url = f"{self.endpoint(*listener)}/_origin/{call}"
        with self.opener.open(url, timeout=timeout) as resp:
            return str(resp.read().decode())

    def reload_bucket(self, bucket: str) -> None:
        """Tell every nginx worker to re-read the bucket's index (after the harness rewrote it)."""
        self._admin((False, False), f"reload/{bucket}")

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
