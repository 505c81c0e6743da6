"""The engine: known documents parsed and validated once per query text, operations
chosen as the spec says, subscription events that fall back to graphql-core with nothing
kept between events."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import pytest
import strawberry

import bff.graphql.engine.documents as documents
from bff.graphql.engine.engine import Answer, Engine, Limits
from bff.graphql.engine.request import GraphQLRequest, Prepared


@strawberry.type
class Item:
    name: str
    size: int


@strawberry.type
class Query:
    @strawberry.field
    def item(self) -> Item:
        return Item(name="a", size=1)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def items(self, count: int) -> AsyncGenerator[Item, None]:
        for i in range(count):
            yield Item(name=f"i{i}", size=i)


def engine() -> Engine:
    return Engine(strawberry.Schema(query=Query, subscription=Subscription), Limits())


async def run(e: Engine, query: str, **kw: Any) -> Answer:
    prepared = await e.prepare(GraphQLRequest(query, **kw))
    if isinstance(prepared, Answer):
        return prepared
    return await e.execute(prepared, None)


async def test_a_known_document_is_parsed_and_validated_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    e = engine()
    validations: list[int] = []
    original = documents.validate

    def counted(*args: Any, **kwargs: Any) -> Any:
        validations.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(documents, "validate", counted)
    for _ in range(5):
        answer = await run(e, "{ item { name size } }")
        assert answer.payload == {"data": {"item": {"name": "a", "size": 1}}}
    assert len(validations) == 2  # the spec rules, then the limits: once
    bad = await run(e, "{ item { nope } }")
    again = await run(e, "{ item { nope } }")
    assert bad.errors and again.errors, "a cached validation error is still reported"
    assert "Cannot query field 'nope'" in again.errors[0]["message"]
    broken = await run(e, "{ item {")
    assert broken.errors[0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert len(validations) == 4  # two passes (spec rules, then limits) per document


async def test_the_operation_is_chosen_as_the_spec_says() -> None:
    e = engine()
    two = "query A { item { name } } query B { item { size } }"
    refused = await run(e, two)
    assert refused.errors[0]["message"] == (
        "Must provide operation name if query contains multiple operations."
    )
    assert (await run(e, two, operation_name="B")).payload == {"data": {"item": {"size": 1}}}
    unknown = await run(e, two, operation_name="C")
    assert unknown.errors[0]["message"] == "Unknown operation named 'C'."


async def test_a_subscription_event_outside_the_plan_runs_on_graphql_core() -> None:
    e = engine()
    query = "subscription { items(count: 3) { name ... on Item { size } } }"
    prepared = await e.prepare(GraphQLRequest(query))
    assert isinstance(prepared, Prepared)
    assert e.execution.plan(prepared) is not None
    conditional = "subscription($n: Int!) { items(count: $n) { name @include(if: true) } }"
    prepared = await e.prepare(GraphQLRequest(conditional, {"n": 2}))
    assert isinstance(prepared, Prepared) and e.execution.plan(prepared) is None
    results = [json.loads(text) async for _, text in e.execution.results(prepared, None)]
    assert results == [{"data": {"items": {"name": "i0"}}}, {"data": {"items": {"name": "i1"}}}]


async def test_a_spread_of_an_unknown_fragment_is_a_validation_error() -> None:
    """The depth limit walks fragments: an unknown one must be reported, not fail it."""
    answer = await run(engine(), "{ item { ...Missing } }")
    assert answer.status == 200
    assert [e["extensions"]["code"] for e in answer.errors] == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Unknown fragment" in answer.errors[0]["message"]
    cycle = "{ item { ...A } } fragment A on Item { ...B } fragment B on Item { ...A }"
    answer = await run(engine(), cycle)
    assert answer.status == 200 and answer.errors
    assert {e["extensions"]["code"] for e in answer.errors} == {"GRAPHQL_VALIDATION_FAILED"}
