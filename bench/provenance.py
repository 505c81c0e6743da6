"""Which code a benchmark run measured, and whether the hot path changed since.

A report records the commit it ran at (and any uncommitted change to the hot path);
when it is written or rendered again, the hot-path files changed between that commit and
the work tree are listed, and the report then says it is not the final code.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Where a change moves the benchmarks' figures: delivery, execution, transport, seams.
HOT_PATHS = ("bff/live", "bff/graphql/engine", "bff/graphql/transport", "bff/seams")


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def _uncommitted() -> list[str]:
    lines = _git("status", "--porcelain", "--", *HOT_PATHS).splitlines()
    return sorted(line[3:] for line in lines if line.strip())


def current() -> dict[str, object]:
    """The commit checked out now, its subject, and uncommitted hot-path changes."""
    return {
        "commit": _git("rev-parse", "HEAD") or "unknown",
        "subject": _git("log", "-1", "--format=%s")[:120],
        "uncommitted": _uncommitted(),
    }


def hot_changes(since: str) -> list[str]:
    """Hot-path files that differ between commit ``since`` and the work tree now."""
    if since == "unknown":
        return ["(no commit recorded)"]
    changed = set(_git("diff", "--name-only", since, "--", *HOT_PATHS).splitlines())
    changed.update(_uncommitted())
    return sorted(x for x in changed if x)


def lines(code: dict[str, object]) -> list[str]:
    """The report's lines about its code: the commit, and whether it is the final code."""
    commit = str(code.get("commit", "unknown"))
    dirty = list(code.get("uncommitted") or [])  # type: ignore[call-overload]
    out = [f"- code: commit `{commit[:12]}` ({code.get('subject', '')})"]
    if dirty:
        out.append(f"  with uncommitted changes to the hot path: {', '.join(dirty)}")
    changed = hot_changes(commit)
    if dirty or changed:
        shown = ", ".join(changed[:12]) + (" ..." if len(changed) > 12 else "")
        out.append(
            "- **not the final code**: hot-path files (" + ", ".join(HOT_PATHS) + ") differ "
            f"between that commit and the code this report was written beside: {shown}. "
            "Run the benchmarks again before quoting these figures for the current code."
        )
    else:
        out.append(
            f"- the hot path ({', '.join(HOT_PATHS)}) is the same at HEAD "
            f"(`{_git('rev-parse', '--short=12', 'HEAD')}`) as at that commit: these are "
            "figures of the final code"
        )
    return out
