"""The contract's operations as GraphiQL tabs, each with example variables.

The shared contract (``../shared/contract/app-operations.graphql`` beside a checkout) is
read when present; an installed BFF has no such folder and uses the copy bundled here
(a test keeps the two equal).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DefinitionNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    Node,
    OperationDefinitionNode,
    Source,
    parse,
    visit,
)
from graphql.language import Visitor

BUNDLED_CONTRACT = Path(__file__).with_name("contract.graphql")
SHARED_CONTRACT = (
    Path(__file__).resolve().parents[2].parent / "shared" / "contract" / "app-operations.graphql"
)

WARSAW = {"latitude": 52.290056, "longitude": 20.907028}
SESSION_ID = "<a session id: from StartSession or SessionHistory>"

# Variables a developer can run as they are, or fill in with ids from earlier results.
EXAMPLE_VARIABLES: dict[str, dict[str, Any]] = {
    "NearbyChargers": {"near": WARSAW, "radiusMeters": 500, "first": 10},
    "SessionHistory": {"first": 10},
    "SessionDetail": {"id": SESSION_ID},
    "StartSession": {"input": {"connectorId": "<a connector id: from NearbyChargers>"}},
    "StopSession": {"id": SESSION_ID},
    "AbandonSession": {"id": SESSION_ID},
    "ConfirmPayment": {"id": SESSION_ID},
    "RetryPayment": {"id": SESSION_ID},
    "SetChargingProfile": {"input": {"sessionId": SESSION_ID, "maxChargeRateKw": 7.4}},
    "ClearChargingProfile": {"id": SESSION_ID},
    "LiveSession": {"id": SESSION_ID},
}


@dataclass(frozen=True)
class Tab:
    """One preloaded GraphiQL tab (GraphiQL's ``defaultTabs`` entry)."""

    name: str
    query: str
    variables: str

    def as_json(self, headers: str) -> dict[str, str]:
        return {"query": self.query, "variables": self.variables, "headers": headers}


def contract_path() -> Path:
    return SHARED_CONTRACT if SHARED_CONTRACT.is_file() else BUNDLED_CONTRACT


def contract_tabs(path: Path | None = None) -> list[Tab]:
    """Every named operation of the contract, standalone (with the fragments it spreads)."""
    text = (path or contract_path()).read_text()
    doc = parse(Source(text))
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    tabs: list[Tab] = []
    for op in doc.definitions:
        if not isinstance(op, OperationDefinitionNode) or op.name is None:
            continue
        needed = _fragments_used(op, fragments)
        parts = [_leading_comment(text, op) + _source(text, op)]
        parts += [_source(text, fragments[name]) for name in needed]
        variables = EXAMPLE_VARIABLES.get(
            op.name.value,
            {v.variable.name.value: None for v in op.variable_definitions or ()},
        )
        tabs.append(
            Tab(
                op.name.value,
                "\n\n".join(parts) + "\n",
                json.dumps(variables, indent=2) if variables else "",
            )
        )
    return tabs


def _fragments_used(
    op: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> list[str]:
    """Fragment names spread by ``op``, directly or through other fragments, in order."""
    found: list[str] = []
    pending: list[DefinitionNode] = [op]
    while pending:
        for name in _spreads(pending.pop()):
            if name not in found and name in fragments:
                found.append(name)
                pending.append(fragments[name])
    return found


def _spreads(node: Node) -> list[str]:
    names: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            names.append(spread.name.value)

    visit(node, Spreads())
    return names


def _source(text: str, node: Node) -> str:
    assert node.loc is not None
    return text[node.loc.start : node.loc.end]


def _leading_comment(text: str, node: Node) -> str:
    """The ``#`` lines right above a definition (the contract explains each screen there)."""
    assert node.loc is not None
    lines = text[: node.loc.start].rstrip("\n").split("\n")
    comment: list[str] = []
    while lines and lines[-1].lstrip().startswith("#"):
        comment.insert(0, lines.pop())
    return "".join(f"{line}\n" for line in comment)
