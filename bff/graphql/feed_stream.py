"""A shared feed's results, executed straight on graphql-core.

A feed (:mod:`bff.graphql.fanout`) runs one subscription for every socket that asked the
same thing, so its results never go through a transport of their own: Strawberry's
stream (extension hooks, a result object and its conversion per event, an async
iterator mapping per layer) is bypassed. The pipeline is graphql-core 3.3's, composed
by hand: build the executor once, resolve the source event stream (the subscription
resolver, with the subscriber's context), then for each event run the operation's
compiled plan (:mod:`bff.graphql.compiled`) and serialize ``{"data": ...}`` once.

An event the plan cannot complete runs through the per-event executor as before, and
its errors are shaped (:func:`~bff.graphql.errors.to_graphql_error`) and logged as on
Strawberry's path. A document that does not parse or validate yields nothing: every
subscriber's own run goes through Strawberry and reports it. An exception from the
source ends the stream with one failure payload (shaped, so internal errors stay
masked).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

import strawberry
from graphql import ASTValidationRule, ExecutionResult, GraphQLError
from graphql.execution import create_source_event_stream
from graphql.validation import specified_rules
from strawberry.extensions import MaxTokensLimiter
from strawberry.extensions.add_validation_rules import AddValidationRules

from bff.graphql.compiled import FALLBACK
from bff.graphql.documents import DocumentCache, KnownDocuments
from bff.graphql.errors import to_graphql_error
from bff.graphql.executor import LiveExecutor
from bff.graphql.live import LiveRun, Marked

#: One result of a feed: the snapshot it was made from and its ``next`` payload as JSON;
#: ``(None, payload)`` is the failure that ends the stream.
FeedResult = tuple[Marked | None, str]


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


@dataclass(frozen=True)
class FeedSchema:
    """What a feed needs of the schema: the same documents, rules and limits that the
    subscribers' own runs go through."""

    schema: strawberry.Schema
    documents: KnownDocuments
    rules: tuple[type[ASTValidationRule], ...]
    max_tokens: int
    hide_suggestions: bool = False

    @classmethod
    def of(cls, schema: strawberry.Schema, documents: KnownDocuments) -> FeedSchema:
        """The validation rules, token limit and suggestions as the schema's extensions
        set them."""
        rules: list[type[ASTValidationRule]] = list(specified_rules)
        max_tokens, hide_suggestions = 0, False
        for ext in schema.get_extensions():
            if isinstance(ext, AddValidationRules):
                rules.extend(ext.validation_rules)
            elif isinstance(ext, MaxTokensLimiter):
                max_tokens = ext.max_token_count
            elif isinstance(ext, DocumentCache):
                hide_suggestions = ext.hide_suggestions
        return cls(schema, documents, tuple(rules), max_tokens, hide_suggestions)

    def errors(self, errors: Sequence[GraphQLError]) -> str:
        """A failure payload."""
        return _dumps({"data": None, "errors": self._shaped(errors)})

    def _shaped(self, errors: Sequence[GraphQLError]) -> list[Any]:
        """Errors as the client sees them (codes, internals masked), logged as Strawberry
        logs them."""
        shaped = [to_graphql_error(e) for e in errors]
        self.schema.process_errors(shaped)
        return [e.formatted for e in shaped]

    async def results(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Any,
        root_value: Any,
        run: LiveRun,
    ) -> AsyncGenerator[FeedResult, None]:
        options = {"max_tokens": self.max_tokens} if self.max_tokens else {}
        try:
            document = self.documents.parse(query, options)
        except GraphQLError:
            return
        if self.documents.validate(
            query, options, self.schema._schema, document, self.rules, self.hide_suggestions
        ):
            return
        # The schema's executor class: the one that hides suggestions where it should.
        executor = self.schema.execution_context_class.build(
            self.schema._schema, document, root_value, context, variables, operation_name
        )
        if isinstance(executor, list):
            return  # variables that do not coerce: reported by the subscriber's own run
        live = cast(LiveExecutor, executor)
        opened: Any = create_source_event_stream(live)
        if live.is_awaitable(opened):
            opened = await opened
        if isinstance(opened, ExecutionResult):
            yield None, self.errors(opened.errors or [])
            return
        source = cast(AsyncIterator[Any], opened)
        plan = live.plan()
        per_event = live.build_per_event_executor
        try:
            async with aclosing(source):  # type: ignore[type-var]
                async for payload in source:
                    marked, run.event = run.event, None
                    if marked is None:
                        continue  # not from a snapshot: nothing to order it by
                    data = plan(payload) if plan is not None else FALLBACK
                    if data is not FALLBACK:
                        yield marked, _dumps({"data": data})
                        continue
                    result = per_event(payload).execute_operation(False)
                    if live.is_awaitable(result):
                        result = await result
                    yield marked, self._text(result)
        except GraphQLError as exc:
            yield None, self.errors([exc])
        except Exception as exc:  # shaped and masked, as on Strawberry's path
            yield None, self.errors([GraphQLError(str(exc), original_error=exc)])

    def _text(self, result: ExecutionResult) -> str:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = self._shaped(result.errors)
        return _dumps(payload)
