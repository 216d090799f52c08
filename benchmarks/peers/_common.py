"""Argument handling shared by the peer scripts (each runs in its own environment)."""

from __future__ import annotations

import argparse


def parser(description: str) -> argparse.ArgumentParser:
    """Every peer takes the origin endpoint, bucket, key prefix and destination directory."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--endpoint", required=True, help="origin URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", required=True, help="key prefix ending in '/'")
    p.add_argument("--dest", required=True, help="directory that receives <key minus prefix>")
    p.add_argument("--region", default="us-east-1")
    return p
