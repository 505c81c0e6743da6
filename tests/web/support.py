"""Running the Node side of the web tests: prerequisites checked up front, bounded runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bff.web.vendor import missing
from tests.support import ROOT

CLIENTS = ROOT / "clients"
HOW_TO_INSTALL = "run scripts/setup (it runs scripts/setup-web)"


def require(*, browser: bool = False) -> dict[str, str]:
    """Paths of node (and, for ``browser``, Chromium); fails, never skips, when something
    is missing, so a machine without them cannot pass the suite by running fewer tests."""
    problems: list[str] = []
    tools: dict[str, str] = {}
    node = shutil.which("node")
    if node is None:
        problems.append("node is not on PATH (Node 20+ and npm are needed)")
    else:
        tools["node"] = node
        version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
        if int(version.lstrip("v").split(".")[0] or 0) < 20:
            problems.append(f"node {version.strip()} is too old (Node 20+ is needed)")
    for package in ("@apollo/client", "@apollo/generate-persisted-query-manifest",
                    "@apollo/persisted-query-lists", "graphql-ws", "ws", "playwright-core"):
        if not (CLIENTS / "node_modules" / package / "package.json").is_file():
            problems.append(f"clients/node_modules/{package} is missing")
    if browser:
        found = shutil.which("chromium") or (
            "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
        )
        if found is None:
            problems.append("Debian's chromium is not installed (apt-get install chromium)")
        else:
            tools["chromium"] = found
        absent = missing()
        if absent:
            problems.append(f"GraphiQL's files are not in bff/static/vendor/ ({', '.join(absent)})")
    if problems:
        pytest.fail(
            "web test prerequisites missing: " + "; ".join(problems) + f" -- {HOW_TO_INSTALL}",
            pytrace=False,
        )
    return tools


def run_node(
    args: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``node ARGS`` from the repository root with ``env`` added; killed after ``timeout``."""
    try:
        return subprocess.run(
            args,
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout
        err = (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else exc.stderr
        pytest.fail(f"node {args[1:]} did not finish in {timeout} s\n{out}\n{err}")
