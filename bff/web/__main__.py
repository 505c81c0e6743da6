"""``python -m bff.web install NODE_MODULES | check``: GraphiQL's files for the BFF."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bff.web.vendor import VENDOR_DIR, install, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bff.web")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="copy GraphiQL's files from node_modules")
    inst.add_argument("node_modules", type=Path)
    sub.add_parser("check", help="exit 1 if any file is missing")
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
    absent = missing()
    if absent:
        print(f"vendor: missing {', '.join(absent)} in {VENDOR_DIR}", file=sys.stderr)
        return 1
    return 0


raise SystemExit(main())
