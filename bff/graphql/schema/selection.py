"""What a client selected under a field, for resolvers that can skip work it does not need.

Read from the document's field nodes themselves: Strawberry's ``info.selected_fields``
converts the whole subtree (every nested field, argument and directive) on each call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import FieldNode

from bff.seams.strawberry import field_nodes


def plain_names(node: FieldNode) -> frozenset[str] | None:
    """The names of the fields selected under ``node``, or None when that selection is
    not just plain fields (a fragment, or a directive that makes a field conditional)."""
    names: set[str] = set()
    for sel in node.selection_set.selections if node.selection_set else ():
        if not isinstance(sel, FieldNode) or sel.directives:
            return None
        names.add(sel.name.value)
    return frozenset(names)


def plain_subfields(info: strawberry.Info) -> frozenset[str] | None:
    """:func:`plain_names` under the field being resolved (all of its nodes)."""
    names: set[str] = set()
    for node in field_nodes(info):
        found = plain_names(node)
        if found is None:
            return None
        names |= found
    return frozenset(names)


def field_node(nodes: Iterable[Any], *path: str) -> FieldNode | None:
    """The field at ``path`` (GraphQL names), the first of that name at each step,
    looking through plain fields only (not into fragments)."""
    found: FieldNode | None = None
    for name in path:
        found = next((n for n in nodes if isinstance(n, FieldNode) and n.name.value == name), None)
        if found is None:
            return None
        nodes = found.selection_set.selections if found.selection_set else ()
    return found
