"""Known documents: each query text parsed and validated once, then two dict lookups.

Keyed by the query text (whose hash Python caches), with the validation rules built once
per engine (:func:`validation_rules`), so that graphql-core's per-rule visitor caches
warm up. A syntax error is not cached (it raises); validation errors are.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.validation import NoSchemaIntrospectionCustomRule, specified_rules
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

#: Distinct documents remembered; clients send a few dozen, so this bounds a flood of
#: unique query texts without evicting the real ones.
MAXSIZE = 512


class _Lru:
    """A small LRU map (``functools.lru_cache`` cannot skip caching syntax errors)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self._items[key] = value
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def validation_rules(
    max_depth: int, max_aliases: int, introspection: bool
) -> tuple[type[ASTValidationRule], ...]:
    """Our limits on a valid document: depth, aliases, and no introspection when off."""
    extra: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    if not introspection:
        extra.append(NoSchemaIntrospectionCustomRule)
    return tuple(extra)


class KnownDocuments:
    """Parsed documents and their validation errors by query text, for one schema.

    graphql-core's rules run first, then ``limits`` (:func:`validation_rules`): the
    limits walk fragments as if every spread named a known fragment, and one that does
    not (reported by graphql-core's rules) would fail inside the depth limiter."""

    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Sequence[type[ASTValidationRule]],
        *,
        max_tokens: int,
        hide_suggestions: bool,
        maxsize: int = MAXSIZE,
    ) -> None:
        self.schema = schema
        self.limits = tuple(limits)
        self.max_tokens = max_tokens
        self.hide_suggestions = hide_suggestions
        self._docs = _Lru(maxsize)
        self._errors = _Lru(maxsize)

    def parse(self, query: str) -> DocumentNode:
        """The document of ``query``; a syntax error (or too many tokens) raises."""
        doc: DocumentNode | None = self._docs.get(query)
        if doc is None:
            doc = parse(query, max_tokens=self.max_tokens)
            self._docs.put(query, doc)
        return doc

    def validate(self, query: str, document: DocumentNode) -> list[GraphQLError]:
        """Validation errors of the document parsed from ``query``."""
        errors: list[GraphQLError] | None = self._errors.get(query)
        if errors is None:
            hide = self.hide_suggestions
            errors = validate(self.schema, document, specified_rules, hide_suggestions=hide)
            try:
                errors += validate(self.schema, document, self.limits, hide_suggestions=hide)
            except (KeyError, RecursionError):
                if not errors:
                    raise
                # An unknown or cyclic fragment: already reported, the limits cannot walk it.
            self._errors.put(query, errors)
        return list(errors)
