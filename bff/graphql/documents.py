"""Known documents: parse and validate each query text once, not on every request.

Strawberry's ``ParserCache`` and ``ValidationCache`` miss on this schema: the validation
cache is keyed by the document, whose (frozen dataclass) hash walks the whole tree on
every lookup, and by the validation rules, which ``QueryDepthLimiter`` and
``MaxAliasesLimiter`` create as new classes for every request, so the key never repeats
(and graphql-core's per-class visitor caches never warm up). Here both steps are keyed by
the query text (whose hash Python caches) and the rules are built once per schema
(:func:`stable_rules`), so a known document costs two dictionary lookups.

Validation takes graphql-core's ``hide_suggestions`` (no "Did you mean ...?" when
introspection is off). :func:`select_operation` chooses the operation a request runs as
the spec's *GetOperation* does: Strawberry runs the first operation of a document with
several when no name is given, and its error for an unknown name is not a GraphQL one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    validate,
)
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema import BaseSchema
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

#: Distinct documents remembered; clients send a few dozen, so this bounds a flood of
#: unique query texts without evicting the real ones.
MAXSIZE = 512

_Key = tuple[Any, ...]

#: The code of a request whose operation cannot be chosen (Apollo Server's name for it).
OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"


def validate_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool = False,
) -> list[GraphQLError]:
    """Strawberry's ``validate_document`` (the rules plus its own two), with
    graphql-core's ``hide_suggestions``, which Strawberry does not pass on."""
    rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


def select_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | GraphQLError:
    """The operation a request runs (the spec's *GetOperation*), or the error that says
    why none can be chosen, worded as graphql-core's executor words it."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) == 1:
            return operations[0]
        message = (
            "Must provide operation name if query contains multiple operations."
            if operations
            else "Must provide an operation."
        )
    else:
        for operation in operations:
            if operation.name is not None and operation.name.value == operation_name:
                return operation
        message = f"Unknown operation named '{operation_name}'."
    return GraphQLError(message, extensions={"code": OPERATION_RESOLUTION_FAILURE})


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
        hide_suggestions: bool = False,
    ) -> list[GraphQLError]:
        """Validation errors of the document parsed from ``query`` under ``rules``."""
        key = (query, rules, hide_suggestions, *sorted(options.items()))
        errors: list[GraphQLError] | None = self._errors.get(key)
        if errors is None:
            self.misses += 1
            errors = validate_document(schema, document, rules, hide_suggestions)
            self._errors.put(key, errors)
        else:
            self.hits += 1
        return list(errors)


class DocumentCache(SchemaExtension):
    """Parse and validate through :class:`KnownDocuments` (replaces Strawberry's
    ``ParserCache`` and ``ValidationCache``), without suggestions if asked."""

    def __init__(self, documents: KnownDocuments, hide_suggestions: bool = False) -> None:
        self.documents = documents
        self.hide_suggestions = hide_suggestions
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
        document, rules = ctx.graphql_document, tuple(ctx.validation_rules)
        if document is not None and self._parsed_here and ctx.query:
            # Only a document this extension parsed from ``ctx.query`` may use the text
            # as key.
            ctx.pre_execution_errors = self.documents.validate(
                ctx.query,
                ctx.parse_options,
                ctx.schema._schema,
                document,
                rules,
                self.hide_suggestions,
            )
        elif document is not None:  # Strawberry's own validation would suggest
            ctx.pre_execution_errors = validate_document(
                ctx.schema._schema, document, rules, self.hide_suggestions
            )
        yield


@dataclass(frozen=True)
class SchemaDocuments:
    """A schema's :class:`KnownDocuments` with the parse options its extensions set,
    for a transport that must see a request's document before the schema runs it."""

    documents: KnownDocuments
    options: Mapping[str, Any]

    @classmethod
    def of(cls, schema: BaseSchema) -> SchemaDocuments:
        documents, options = KnownDocuments(), {}
        extensions = schema.get_extensions() if isinstance(schema, strawberry.Schema) else []
        for ext in extensions:
            if isinstance(ext, DocumentCache):
                documents = ext.documents
            elif isinstance(ext, MaxTokensLimiter):
                options = {"max_tokens": ext.max_token_count}
        return cls(documents, options)

    def operation(
        self, query: str, operation_name: str | None
    ) -> OperationDefinitionNode | GraphQLError | None:
        """The operation ``query`` runs, the error that says why none, or None when the
        query does not parse (the schema reports that its own way)."""
        try:
            document = self.documents.parse(query, self.options)
        except GraphQLError:
            return None
        return select_operation(document, operation_name)


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
