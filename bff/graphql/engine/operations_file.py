"""The operations a client may send, read from a file: the allow-list of persisted
queries (``BFF_PERSISTED_QUERIES_FILE``).

A ``.graphql`` file (like the contract's ``app-operations.graphql``) gives one document
per named operation, printed as a client sends it; an Apollo persisted-query manifest
(``.json``, from ``generate-persisted-query-manifest``) gives its bodies as they are.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor


def operation_documents(source: str) -> dict[str, str]:
    """Each named operation of a GraphQL document as the standalone document a client
    sends: the operation, then the fragments it uses (transitively) in source order,
    printed like graphql-js ``print``."""
    doc = parse(source)
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    order = list(fragments)
    out: dict[str, str] = {}
    for op in doc.definitions:
        if not isinstance(op, OperationDefinitionNode) or op.name is None:
            continue
        used: set[str] = set()
        todo = _spreads(op)
        while todo:
            name = todo.pop()
            if name in fragments and name not in used:
                used.add(name)
                todo |= _spreads(fragments[name])
        defs = [op, *(fragments[n] for n in order if n in used)]
        out[op.name.value] = print_ast(DocumentNode(definitions=tuple(defs)))
    return out


def read_operations_file(path: str | Path) -> list[str]:
    """The documents of a ``.graphql`` file (see :func:`operation_documents`) or of an
    Apollo persisted-query manifest (``.json``: ``{"operations": [{"id", "body"}]}``)."""
    text = Path(path).read_text()
    if str(path).endswith(".json"):
        manifest = json.loads(text)
        bodies: list[str] = []
        for op in manifest.get("operations", []):
            body = op["body"]
            if op.get("id") not in (None, hashlib.sha256(body.encode()).hexdigest()):
                raise ValueError(f"{path}: id of {op.get('name')!r} is not its body's sha256")
            bodies.append(body)
        return bodies
    return list(operation_documents(text).values())


def _spreads(node: Any) -> set[str]:
    found: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            found.add(spread.name.value)

    visit(node, Spreads())
    return found
