"""Known documents: parse and validate each query text once, not on every request.

Strawberry's ``ParserCache`` and ``ValidationCache`` miss on this schema: the validation
cache is keyed by the document, whose (frozen dataclass) hash walks the whole tree on
every lookup, and by the validation rules, which ``QueryDepthLimiter`` and
``MaxAliasesLimiter`` create as new classes for every request, so the key never repeats
(and graphql-core's per-class visitor caches never warm up). Here both steps are keyed by
the query text (whose hash Python caches) and the rules are built once per schema
(:func:`stable_rules`), so a known document costs two dictionary lookups.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, parse
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document

#: Distinct documents remembered; clients send a few dozen, so this bounds a flood of
#: unique query texts without evicting the real ones.
MAXSIZE = 512

_Key = tuple[Any, ...]


class _Lru:
    """A small LRU map (``functools.lru_cache`` cannot skip caching syntax errors)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[_Key, Any] = OrderedDict()

    def get(self, key: _Key) -> Any:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: _Key, value: Any) -> None:
        self._items[key] = value
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class KnownDocuments:
    """Parsed documents and their validation errors by query text (one per schema)."""

    def __init__(self, maxsize: int = MAXSIZE) -> None:
        self._docs = _Lru(maxsize)
        self._errors = _Lru(maxsize)
        self.hits = 0
        self.misses = 0

    def parse(self, query: str, options: Mapping[str, Any]) -> DocumentNode:
        """The document of ``query``; a syntax error raises (and is not cached)."""
        key = (query, *sorted(options.items()))
        doc: DocumentNode | None = self._docs.get(key)
        if doc is None:
            doc = parse(query, **options)
            self._docs.put(key, doc)
        return doc

    def validate(
        self,
        query: str,
        options: Mapping[str, Any],
        schema: Any,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        """Validation errors of the document parsed from ``query`` under ``rules``."""
        key = (query, rules, *sorted(options.items()))
        errors: list[GraphQLError] | None = self._errors.get(key)
        if errors is None:
            self.misses += 1
            errors = validate_document(schema, document, rules)
            self._errors.put(key, errors)
        else:
            self.hits += 1
        return list(errors)


class DocumentCache(SchemaExtension):
    """Parse and validate through :class:`KnownDocuments` (replaces Strawberry's
    ``ParserCache`` and ``ValidationCache``)."""

    def __init__(self, documents: KnownDocuments) -> None:
        self.documents = documents
        self._parsed_here = False

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            try:
                ctx.graphql_document = self.documents.parse(ctx.query, ctx.parse_options)
                self._parsed_here = True
            except GraphQLError:
                # Strawberry parses again and reports the syntax error its own way (a
                # subscription closes with 4400 instead of raising).
                ctx.graphql_document = None
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        # Only a document this extension parsed from ``ctx.query`` may use the text as key.
        if self._parsed_here and ctx.query and ctx.graphql_document is not None:
            ctx.pre_execution_errors = self.documents.validate(
                ctx.query,
                ctx.parse_options,
                ctx.schema._schema,
                ctx.graphql_document,
                tuple(ctx.validation_rules),
            )
        yield


def stable_rules(
    max_depth: int, max_aliases: int, extra: Sequence[type[ASTValidationRule]] = ()
) -> list[type[ASTValidationRule]]:
    """The depth and alias limits as validation rule classes made once, so that the
    rules tuple (part of the validation key) is the same on every request."""
    return [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
        *extra,
    ]
