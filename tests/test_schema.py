"""schema.graphql is exported from the code and validates every contract operation."""

from __future__ import annotations

import subprocess
import sys

from graphql import (
    FieldNode,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_schema,
    get_named_type,
    parse,
    validate,
)

from bff.graphql.schema import export_sdl
from tests.support import CONTRACT, ROOT, contract_operations


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


def _mutation_unions() -> dict[str, GraphQLUnionType]:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    assert schema.mutation_type is not None
    out: dict[str, GraphQLUnionType] = {}
    for name, field in schema.mutation_type.fields.items():
        result = get_named_type(field.type)
        assert isinstance(result, GraphQLUnionType), f"{name} answers a union"
        out[name] = result
    return out


def test_every_error_member_is_a_user_error() -> None:
    """An app handles error types added tomorrow with ``... on UserError { message }``."""
    outcomes = {"PaymentRequired"}  # a step of the start, not an error
    for name, union in _mutation_unions().items():
        for member in union.types:
            if member.name.endswith("Success") or member.name in outcomes:
                continue
            interfaces = [i.name for i in member.interfaces]
            assert interfaces == ["UserError"], f"{name}: {member.name} implements {interfaces}"
            assert "message" in member.fields


def test_contract_mutations_select_every_member_of_their_union() -> None:
    """Each member by name, or the error ones through ``... on UserError``."""
    unions = _mutation_unions()
    doc = parse(CONTRACT.read_text())
    checked = 0
    for op in doc.definitions:
        if not isinstance(op, OperationDefinitionNode) or op.operation.value != "mutation":
            continue
        (root,) = op.selection_set.selections
        assert isinstance(root, FieldNode) and root.selection_set is not None
        union = unions[root.name.value]
        spread = {
            s.type_condition.name.value
            for s in root.selection_set.selections
            if isinstance(s, InlineFragmentNode) and s.type_condition is not None
        }
        missing = [
            m.name for m in union.types
            if m.name not in spread
            and not ("UserError" in spread and any(i.name == "UserError" for i in m.interfaces))
        ]
        assert not missing, f"{op.name.value if op.name else op} leaves out {missing}"
        checked += 1
    assert checked == len(unions)
