"""What a client selected under a field, for resolvers that can skip work it does not need."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import strawberry
from graphql import FieldNode
from strawberry.types.nodes import SelectedField, Selection


def plain_fields(selections: Iterable[Selection]) -> frozenset[str] | None:
    """The names of the fields selected, or None when the selection is not just plain
    fields (a fragment, or a directive that makes a field conditional)."""
    names: set[str] = set()
    for sel in selections:
        if not isinstance(sel, SelectedField) or sel.directives:
            return None
        names.add(sel.name)
    return frozenset(names)


def plain_subfields(info: strawberry.Info) -> frozenset[str] | None:
    """:func:`plain_fields` of the selection under the field being resolved, read from
    the document itself: ``info.selected_fields`` converts the whole subtree (every
    nested field, argument and directive) on each call."""
    names: set[str] = set()
    for node in info._raw_info.field_nodes:
        if node.selection_set is None:
            continue
        for sel in node.selection_set.selections:
            if not isinstance(sel, FieldNode) or sel.directives:
                return None
            names.add(sel.name.value)
    return frozenset(names)


def find(fields: Sequence[Selection], *path: str) -> SelectedField | None:
    """The field at ``path`` (GraphQL names) under ``fields``, looking through plain
    fields only; None when it is not selected that way."""
    current: Sequence[Selection] = fields
    found: SelectedField | None = None
    for name in path:
        found = next((s for s in current if isinstance(s, SelectedField) and s.name == name), None)
        if found is None:
            return None
        current = found.selections
    return found
