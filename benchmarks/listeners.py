"""Loopback listening sockets that the harness binds, holds, and hands to nginx.

Picking a port by binding 0 and closing the socket leaves the port free until nginx binds it,
and anything on the machine may take it meanwhile; with ``reuseport`` another nginx may even
share it. Here the kernel picks the port for a socket that stays open, nginx inherits that
very socket (its ``NGINX`` environment variable, as in a binary upgrade), and the port is
never free. ``strangers`` then tells whether any listener that is not ours joined the port.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

HOST = "127.0.0.1"
BACKLOG = 4096


def claim(count: int) -> list[socket.socket]:
    """``count`` SO_REUSEPORT sockets listening on one port the kernel chose (one per worker)."""
    socks: list[socket.socket] = []
    port = 0
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((HOST, port))
            sock.listen(BACKLOG)
            # nginx takes inherited sockets as they are; a blocking one would hang a worker's
            # accept loop (multi_accept) once the queue is empty.
            sock.setblocking(False)
            port = int(sock.getsockname()[1])
    except OSError:
        close(socks)
        raise
    return socks


def close(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()


def port_of(socks: list[socket.socket]) -> int:
    return int(socks[0].getsockname()[1])


def inodes(socks: list[socket.socket]) -> set[int]:
    return {os.fstat(sock.fileno()).st_ino for sock in socks}


def nginx_env(socks: list[socket.socket]) -> dict[str, str]:
    """The environment that makes nginx take these sockets instead of binding its own."""
    return {"NGINX": "".join(f"{sock.fileno()};" for sock in socks)}


def listening(port: int) -> set[int]:
    """Inodes of the TCP sockets listening on HOST:port (from /proc/net/tcp)."""
    want = f"0100007F:{port:04X}"
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == want and fields[3] == "0A":
            found.add(int(fields[9]))
    return found


def strangers(port: int, ours: set[int]) -> list[str]:
    """The listeners on ``port`` that are not among ``ours``, each as 'inode (pid command)'."""
    return [f"{inode} ({owner(inode)})" for inode in sorted(listening(port) - ours)]


def owner(inode: int) -> str:
    """Which process holds socket ``inode``: 'pid command', or '?' when none is visible."""
    link = f"socket:[{inode}]"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) == link for fd in (proc / "fd").iterdir()):
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                return f"pid {proc.name} {cmd[:80]}"
        except OSError:
            continue
    return "?"
