"""What a client selected under a field, for resolvers that can skip work it does not need."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
