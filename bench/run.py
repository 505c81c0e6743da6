"""``python -m bench.run {all,queries,fanout,subscriptions,webhooks,stuck,polls,cluster,
versus,workers} [--quick]``

Runs the chosen benchmarks, each in its own fresh set of processes, prints a progress
line per step on stderr and writes the results to ``BENCHMARKS.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import shlex
import sys
import traceback
from pathlib import Path

from bench import provenance
from bench.config import Config
from bench.report import Section, document, progress

SCENARIOS = [
    "queries", "fanout", "subscriptions", "webhooks", "stuck", "polls", "cluster", "versus",
    "workers",
]  # fmt: skip
#: Hand-written analysis (what changed, what limits) appended after the tables.
FINDINGS = Path(__file__).with_name("FINDINGS.md")

PREAMBLE = """
Peer-relative benchmarks of the BFF (issue 7). Every comparison is made in one run, side
by side, as a ratio to its floor: Strawberry's trivial query on the same server, the
slowest upstream, Redis itself. `bench/` starts its own `redis-server`, the provider
sandboxes (`bff sandbox`, a separate process) and `bff serve` workers on 127.0.0.1,
drives a load bounded in count and in time, and measures the server process from
`/proc/<pid>` (CPU as utime + stime, RSS).
"""


def raise_fd_limit() -> None:
    """Thousands of sockets need file descriptors: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _findings() -> str:
    return FINDINGS.read_text() if FINDINGS.exists() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("what", nargs="*", help="all, or any of: " + ", ".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="short durations (development)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions per figure")
    parser.add_argument("--out", default="BENCHMARKS.md", help="where to write the tables")
    parser.add_argument("--sizes", default="", help="subscriber counts, e.g. 1000,5000")
    parser.add_argument("--modes", default="one,own", help="subscription cases: one,own")
    parser.add_argument(
        "--render", metavar="JSON", help="only write --out again from a run's saved figures"
    )
    parser.add_argument(
        "--check",
        metavar="JSON",
        help="exit 1 when the hot path changed since the run saved in JSON (BENCHMARKS.json)",
    )
    args = parser.parse_args(argv)
    raise_fd_limit()
    if args.check:
        recorded = json.loads(Path(args.check).read_text()).get("code", {"commit": "unknown"})
        changed = provenance.hot_changes(str(recorded.get("commit", "unknown")))
        for line in provenance.lines(recorded):
            print(line)
        return 1 if changed or recorded.get("uncommitted") else 0
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        loaded = [Section.from_json(x) for x in saved["sections"]]
        code = saved.get("code", {"commit": "unknown"})
        text = document(saved["command"], saved["repeats"], loaded, PREAMBLE, _findings(), code)
        Path(args.out).write_text(text)
        progress(f"wrote {args.out} from {args.render}")
        return 0
    unknown = [w for w in args.what if w not in ("all", *SCENARIOS)]
    if unknown or not args.what:
        parser.error(f"choose all or any of {', '.join(SCENARIOS)} (got {unknown or 'none'})")
    code = provenance.current()  # the code measured: recorded before the first figure
    names = SCENARIOS if "all" in args.what else [s for s in SCENARIOS if s in args.what]
    cfg = Config(
        quick=args.quick,
        repeats=args.repeats,
        sizes=tuple(int(x) for x in args.sizes.split(",") if x),
        modes=tuple(m for m in args.modes.split(",") if m),
    )
    command = "python -m bench.run " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    sections: list[Section] = []
    failed: list[str] = []
    for name in names:
        progress(f"{name}: starting")
        module = importlib.import_module(f"bench.scenarios.{name}")
        try:
            sections.append(module.run(cfg))
        except Exception:  # one scenario's failure must not lose the others' figures
            failed.append(name)
            progress(f"{name}: FAILED\n{traceback.format_exc()}")
            continue
        # The report so far, after every scenario: a long run stopped half-way keeps it.
        _write(Path(args.out), command, cfg, sections, code, failed)
        progress(f"{name}: done (report so far in {args.out})")
    text = _write(Path(args.out), command, cfg, sections, code, failed)
    progress(f"wrote {args.out}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    print(text)
    return 1 if failed else 0


def _write(
    out: Path, command: str, cfg: Config, sections: list[Section], code: dict[str, object],
    failed: list[str],
) -> str:
    """``out`` (Markdown) and its figures beside it (``.json``, for ``--render``)."""
    text = document(command, cfg.repeats, sections, PREAMBLE, _findings(), code)
    if failed:
        text += f"\n**Failed in this run** (see its log): {', '.join(failed)}.\n"
    out.write_text(text)
    out.with_suffix(".json").write_text(
        json.dumps(
            {"command": command, "repeats": cfg.repeats, "code": code, "failed": failed,
             "sections": [x.to_json() for x in sections]},
            indent=1,
        )
    )  # fmt: skip
    return text


if __name__ == "__main__":
    raise SystemExit(main())
