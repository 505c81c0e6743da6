"""schema.graphql is exported from the code and validates every contract operation."""

from __future__ import annotations

import subprocess
import sys

from graphql import build_schema, parse, validate

from bff.graphql.schema import export_sdl
from tests.support import ROOT, contract_operations


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), "run: .venv/bin/bff export-schema > schema.graphql"


def test_every_contract_operation_validates() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    ops = contract_operations()
    assert len(ops) == 12
    for name, text in ops.items():
        assert validate(schema, parse(text)) == [], name


def test_export_schema_command_prints_the_sdl() -> None:
    out = subprocess.run([sys.executable, "-m", "bff", "export-schema"], capture_output=True,
                         check=True, cwd=ROOT)
    assert out.stdout.decode() == (ROOT / "schema.graphql").read_text()


def test_contract_tool_agrees() -> None:
    tool = ROOT.parent / "shared" / "tools" / "check_contract.py"
    assert tool.exists(), (
        f"the contract tool is missing at {tool}: the schema cannot be checked against the "
        "app's operations (put the shared folder beside the checkout, as ../shared)")
    out = subprocess.run([sys.executable, str(tool), str(ROOT / "schema.graphql")],
                         capture_output=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout.decode()
