"""AWS CLI v1 (PyPI awscli): ``aws s3 cp --recursive`` with its default transfer settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from _common import parser


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    exe = str(Path(sys.executable).parent / "aws")
    argv = [exe, "s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", args.endpoint]
    argv += ["--region", args.region, f"s3://{args.bucket}/{args.prefix}", args.dest]
    os.execv(exe, argv)


if __name__ == "__main__":
    main()
