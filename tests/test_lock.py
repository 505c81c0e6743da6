"""The lock files are the installs: exact, hashed, agreeing with pyproject.toml, with each
other, with the seam's version checks, and with what is installed.

requirements-dev.lock (runtime + dev) is what scripts/setup and CI install;
requirements.lock (runtime) is what the Dockerfile installs. scripts/lock makes both.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
RELOCK = "re-lock with scripts/lock (README: Upgrading dependencies)"


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: frozenset[str]


def read_lock(name: str) -> dict[str, Pin]:
    """``{package: Pin}`` of a lock file written by scripts/lock."""
    pins: dict[str, Pin] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", (ROOT / name).read_text()):
        head = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", entry)
        if head is not None:
            hashes = frozenset(re.findall(r"--hash=(sha256:[0-9a-f]{64})", entry))
            pins[canonicalize_name(head[1])] = Pin(head[2], hashes)
    return pins


RUNTIME = read_lock("requirements.lock")
DEV = read_lock("requirements-dev.lock")


def declared() -> tuple[list[Requirement], list[Requirement]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)
    runtime = [Requirement(r) for r in project["project"]["dependencies"]]
    runtime += [Requirement(r) for r in project["build-system"]["requires"]]
    dev = [Requirement(r) for r in project["project"]["optional-dependencies"]["dev"]]
    return runtime, dev


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    runtime, dev = declared()
    for lock, name, requirements in (
        (RUNTIME, "requirements.lock", runtime),
        (DEV, "requirements-dev.lock", runtime + dev),
    ):
        for req in requirements:
            pin = lock.get(canonicalize_name(req.name))
            assert pin is not None, f"{req} is not in {name}: {RELOCK}"
            assert req.specifier.contains(pin.version, prereleases=True), (
                f"{name} pins {req.name}=={pin.version}, outside {req}: {RELOCK}"
            )


def test_the_runtime_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    differ = {n: (p, DEV.get(n)) for n, p in RUNTIME.items() if DEV.get(n) != p}
    assert not differ, f"the two lock files disagree: {RELOCK}"


@pytest.mark.parametrize("lock", [RUNTIME, DEV], ids=["runtime", "dev"])
def test_every_pin_carries_its_hashes(lock: dict[str, Pin]) -> None:
    assert lock and all(pin.hashes for pin in lock.values())


def seam_requirements() -> dict[str, str]:
    """``{distribution: version}`` from the ``require(...)`` call of each seam module."""
    found: dict[str, str] = {}
    for path in (ROOT / "bff" / "seams").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "require"
            ):
                dist, version = (a.value for a in node.args[:2] if isinstance(a, ast.Constant))
                found[dist] = version
    return found


def test_the_seam_modules_check_the_locked_versions() -> None:
    seams = seam_requirements()
    assert set(seams) == {"strawberry-graphql", "uvicorn", "websockets", "starlette"}
    for dist, version in seams.items():
        locked = RUNTIME[canonicalize_name(dist)].version
        assert locked == version, (
            f"requirements.lock has {dist}=={locked}, its seam module was written for "
            f"{version}: check the module against {locked} (README: The seam)"
        )


def test_the_environment_is_the_dev_lock() -> None:
    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "none"

    stale = {n: (installed(n), p.version) for n, p in DEV.items() if installed(n) != p.version}
    assert not stale, f"installed != locked (run scripts/setup): {stale}"
