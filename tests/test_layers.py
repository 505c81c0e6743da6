"""The layers hold: each import-linter contract of pyproject.toml is kept.

The contracts are the architecture's rules (STYLE.md, 12): the GraphQL layer reaches the
store and the providers only through the use cases, the push path and the server plumbing
never import the GraphQL layer, the domain imports nothing of ours, the simulators share
no code with the clients they test, and no two sibling packages or modules import each
other. `.ci/run` runs `lint-imports` too; here a broken layer also fails the suite, one
test per contract, with import-linter's report (which import, at which line).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: The rules the project promises (README, DESIGN.md): removing or renaming one fails here.
EXPECTED = {
    "graphql-through-usecases",
    "live-without-graphql",
    "domain-alone",
    "server-without-graphql",
    "sandbox-own-wire",
    "acyclic",
}


def contract_ids() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    return [c["id"] for c in contracts]


def test_every_promised_contract_is_configured() -> None:
    assert set(contract_ids()) == EXPECTED


@pytest.mark.parametrize("contract", contract_ids())
def test_contract_is_kept(contract: str) -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"contract {contract!r} is broken:\n{result.stdout}{result.stderr}")
