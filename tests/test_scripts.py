"""The two commands' set-up on a machine as root with apt-get but no Node, npm or Chromium:
running the BFF (scripts/run) installs no browser and needs no npm; the test set-up
(scripts/test) installs Chromium and says so first.

``apt-get`` and ``id`` are stubs on a ``PATH`` that hides the machine's node, npm and
chromium: nothing is installed for real.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT

HIDDEN = {"node", "npm", "npx", "chromium", "apt-get", "id"}


@pytest.fixture
def bare_path(tmp_path: Path) -> tuple[str, Path]:
    """A ``PATH`` of the machine's tools less ``HIDDEN``, with a root ``id`` and an
    ``apt-get`` that writes its arguments to the returned file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder) or folder.startswith(str(ROOT)):
            continue
        for entry in os.scandir(folder):
            target = bin_dir / entry.name
            if entry.name not in HIDDEN and not target.exists():
                target.symlink_to(entry.path)
    calls = tmp_path / "apt-get.calls"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n")
    for stub in ("apt-get", "id"):
        (bin_dir / stub).chmod(0o755)
    return str(bin_dir), calls


def run_script(args: list[str], path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run([str(ROOT / args[0]), *args[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_scripts_run_installs_no_browser_and_runs_without_npm(
    bare_path: tuple[str, Path],
) -> None:
    path, calls = bare_path
    proc = run_script(["scripts/run", "--help"], path)  # set-up, then `bff serve --help`
    assert proc.returncode == 0, proc.stderr
    assert "usage: bff serve" in proc.stdout
    assert not calls.exists(), f"scripts/run called apt-get {calls.read_text()}"
    assert "chromium" not in proc.stderr
    assert "Node 20+ and npm not found" in proc.stderr  # a warning, and the BFF runs


def test_scripts_test_installs_chromium_saying_so(bare_path: tuple[str, Path]) -> None:
    path, calls = bare_path
    proc = run_script(["scripts/test", "--collect-only", "-q", "tests/test_lock.py"], path)
    assert proc.returncode == 0, proc.stderr
    assert "installing Debian's chromium with apt-get, for the tests only" in proc.stderr
    assert "install -y -qq --no-install-recommends chromium" in calls.read_text()
