"""The hot path of known documents: parsed and validated once per query text; eager
sends; subscription events that do not grow the executor's memo tables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest
import strawberry
from graphql import parse
from strawberry.extensions import AddValidationRules

from bff.graphql.documents import DocumentCache, KnownDocuments, stable_rules, validate_document
from bff.graphql.eager import run_eagerly
from bff.graphql.executor import LiveExecutor
from bff.graphql.schema import build_schema


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


def tiny_schema(docs: KnownDocuments) -> strawberry.Schema:
    rules = stable_rules(5, 5)
    return strawberry.Schema(
        query=Query,
        subscription=Subscription,
        extensions=[lambda: DocumentCache(docs), lambda: AddValidationRules(rules)],
        execution_context_class=LiveExecutor,
    )


async def test_a_known_document_is_parsed_and_validated_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validations: list[int] = []

    def counting(*args: Any) -> Any:
        validations.append(1)
        return validate_document(*args)

    monkeypatch.setattr("bff.graphql.documents.validate_document", counting)
    docs = KnownDocuments()
    schema = tiny_schema(docs)
    for _ in range(5):
        result = await schema.execute("{ item { name size } }")
        assert result.errors is None and result.data == {"item": {"name": "a", "size": 1}}
    assert len(validations) == 1 and docs.misses == 1 and docs.hits == 4
    bad = await schema.execute("{ item { nope } }")
    again = await schema.execute("{ item { nope } }")
    assert bad.errors and again.errors, "a cached validation error is still reported"
    assert "Cannot query field 'nope'" in again.errors[0].message
    broken = await schema.execute("{ item {")
    assert broken.errors and "Syntax Error" in broken.errors[0].message


async def test_the_app_schema_validates_a_known_document_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The depth and alias limits are part of the key: built per request, they never repeat.
    validations: list[int] = []

    def counting(*args: Any) -> Any:
        validations.append(1)
        return validate_document(*args)

    monkeypatch.setattr("bff.graphql.documents.validate_document", counting)
    schema = build_schema()
    for _ in range(3):
        assert (await schema.execute("{ __typename }")).data == {"__typename": "Query"}
    assert len(validations) == 1


async def test_subscription_events_do_not_grow_the_memo_tables() -> None:
    schema = tiny_schema(KnownDocuments())
    doc = parse("subscription { items(count: 3) { name size } }")
    executor = LiveExecutor.build(schema._schema, doc)
    assert isinstance(executor, LiveExecutor)
    for i in range(50):
        event = executor.build_per_event_executor(Item(name=f"e{i}", size=i))
        result = event.execute_operation(False)
        assert result.data == {"items": {"name": f"e{i}", "size": i}}
        assert event._relevant_sub_fields is not executor._relevant_sub_fields
    assert len(executor._relevant_sub_fields) == 0, "the subscription's table stays empty"
    stream = await schema.subscribe("subscription { items(count: 3) { name } }")
    names = [r.data["items"]["name"] async for r in stream]  # type: ignore[index]
    assert names == ["i0", "i1", "i2"]


async def test_run_eagerly_runs_at_once_and_only_waits_in_a_task() -> None:
    log: list[str] = []

    async def quick() -> None:
        log.append("quick")

    async def slow(gate: asyncio.Event) -> None:
        log.append("slow:start")
        await gate.wait()
        await asyncio.sleep(0)
        log.append("slow:end")

    async def boom() -> None:
        raise ValueError("at once")

    assert run_eagerly(quick()) is None and log == ["quick"]
    gate = asyncio.Event()
    task = run_eagerly(slow(gate))
    assert task is not None and log == ["quick", "slow:start"]
    gate.set()
    await task
    assert log[-1] == "slow:end"
    with pytest.raises(ValueError):
        run_eagerly(boom())
    stuck = run_eagerly(slow(asyncio.Event()))
    assert stuck is not None
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck


async def test_subfields_are_kept_across_requests_unless_a_directive_reads_a_variable() -> None:
    schema = build_schema()
    plain = "{ __schema { queryType { name kind } mutationType { name } } }"
    before = len(LiveExecutor._collected)
    first = await schema.execute(plain)
    kept = len(LiveExecutor._collected)
    second = await schema.execute(plain)
    assert first.errors is None and first.data == second.data
    assert first.data == {
        "__schema": {"queryType": {"name": "Query", "kind": "OBJECT"},
                     "mutationType": {"name": "Mutation"}}
    }  # fmt: skip
    assert kept > before and len(LiveExecutor._collected) == kept  # the second one reused them

    conditional = "query($f: Boolean!) { __schema { queryType { name @include(if: $f) kind } } }"
    shown = await schema.execute(conditional, variable_values={"f": True})
    hidden = await schema.execute(conditional, variable_values={"f": False})
    assert shown.data == {"__schema": {"queryType": {"name": "Query", "kind": "OBJECT"}}}
    assert hidden.data == {"__schema": {"queryType": {"kind": "OBJECT"}}}
