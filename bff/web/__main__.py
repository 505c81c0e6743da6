"""``python -m bff.web install NODE_MODULES | check | check-wheel WHEEL...``: GraphiQL's
files for the BFF (see :mod:`bff.web.vendor`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bff.web.vendor import VENDOR_DIR, install, missing, missing_in_wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bff.web")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="copy GraphiQL's files from node_modules")
    inst.add_argument("node_modules", type=Path)
    sub.add_parser("check", help="exit 1 if any file is missing")
    wheel = sub.add_parser("check-wheel", help="exit 1 if a built wheel lacks any file")
    wheel.add_argument("wheels", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "install":
        try:
            changed = install(args.node_modules)
        except FileNotFoundError as exc:
            print(f"vendor: {exc}", file=sys.stderr)
            return 1
        if changed:
            print(f"vendor: copied {', '.join(changed)} to {VENDOR_DIR}", file=sys.stderr)
        return 0
    if args.command == "check-wheel":
        failed = 0
        for path in args.wheels:
            absent = missing_in_wheel(path)
            if absent:
                print(f"vendor: {path} lacks bff/static/vendor/ {', '.join(absent)}",
                      file=sys.stderr)
                failed = 1
        return failed
    absent = missing()
    if absent:
        print(f"vendor: missing {', '.join(absent)} in {VENDOR_DIR}", file=sys.stderr)
        return 1
    return 0


raise SystemExit(main())
