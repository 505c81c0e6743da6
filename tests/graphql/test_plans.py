"""Compiled plans (subscription events, node reads) give graphql-core's answer, or step
aside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import strawberry
from graphql import FragmentDefinitionNode, OperationDefinitionNode, execute, parse
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.domain.model import ChargingSession, Cost, Energy, Provider, SessionStatus
from bff.domain.money import Money
from bff.graphql.engine.plans import FALLBACK, compile_subscription
from bff.graphql.schema import build_schema
from bff.graphql.schema.types.session import ChargingSession as SessionType
from bff.seams.strawberry import graphql_schema
from bff.usecases.sessions import OwnedSession
from tests.support import contract_operations

SCHEMA = build_schema()
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def plan_of(document: str) -> Any:
    doc = parse(document)
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    return compile_subscription(SCHEMA, op, frags), doc


def event(s: ChargingSession) -> SessionType:
    return SessionType.of(OwnedSession(s, None, "driver-1"), None, 120.0)  # type: ignore[arg-type]


def generic(doc: Any, root: Any) -> Any:
    result = execute(graphql_schema(SCHEMA), doc, root_value=root, variable_values={"id": "x"})
    assert not hasattr(result, "__await__")
    return result


money = st.builds(
    Money,
    st.integers(0, 10**7),
    st.sampled_from(["EUR", "JPY", "KWD", "SEK"]),
)
costs = st.none() | st.builds(
    Cost,
    money,
    st.none() | money,
    st.none() | st.decimals(0, 30, places=1).map(Decimal),
    st.booleans(),
)


@st.composite
def sessions(draw: st.DrawFn) -> ChargingSession:
    status = draw(st.sampled_from(list(SessionStatus)))
    started = draw(st.none() | st.just(T0))
    return ChargingSession(
        provider=draw(st.sampled_from(list(Provider))),
        id=draw(st.text("abcdef0123", min_size=1, max_size=12)),
        status=status,
        provider_status=draw(st.text(max_size=20)),
        observed_at=T0 + timedelta(seconds=draw(st.integers(0, 10**6))),
        started_at=started,
        ended_at=draw(st.none() | st.just(T0 + timedelta(hours=1))),
        # A running session without a duration counts from now: keep the clock out of it.
        duration_seconds=draw(st.integers(0, 10**5)) if started else None,
        energy=draw(st.none() | st.integers(0, 10**6).map(Energy)),
        power_kw=draw(st.none() | st.floats(0, 350, allow_nan=False)),
        cost=draw(costs),
        stop_failed=draw(st.booleans()),
        remote=draw(st.booleans()),
    )


LIVE = contract_operations()["LiveSession"]


@settings(max_examples=200, deadline=None)
@given(sessions())
def test_the_live_session_plan_answers_like_graphql_core(s: ChargingSession) -> None:
    plan, doc = plan_of(LIVE)
    assert plan is not None, "the live charging screen's document compiles"
    root = event(s)
    expected = generic(doc, root)
    assert expected.errors is None
    assert plan(root) == expected.data


def test_documents_outside_the_plain_case_do_not_compile() -> None:
    ops = contract_operations()
    assert plan_of(ops["MySessions"])[0] is None, "charger is resolved asynchronously"
    skip = "subscription($id: ID!) { sessionUpdated(id: $id) { id @skip(if: true) } }"
    assert plan_of(skip)[0] is None
    node = "subscription($id: ID!) { sessionUpdated(id: $id) { ... on Node { id } } }"
    assert plan_of(node)[0] is None, "a fragment on an interface"


def test_a_surprise_at_run_time_steps_aside() -> None:
    plan, doc = plan_of(
        "subscription($id: ID!) { sessionUpdated(id: $id) { id status __typename } }"
    )
    assert plan is not None
    ok = event(ChargingSession(Provider.ROAMING, "s1", SessionStatus.CHARGING, "active", T0))
    assert plan(ok) == generic(doc, ok).data
    assert plan(ok)["sessionUpdated"]["__typename"] == "ChargingSession"

    @strawberry.type
    class Other:
        id: strawberry.ID

    assert plan(Other(id=strawberry.ID("x"))) is FALLBACK, "not a ChargingSession"
    broken = event(ChargingSession(Provider.ROAMING, "s1", "nonsense", "x", T0))  # type: ignore[arg-type]
    assert plan(broken) is FALLBACK
    assert generic(doc, broken).errors, "graphql-core reports what the plan stepped aside for"


# -- reads: node(id) ----------------------------------------------------------------------

NODE_LIVE = """
query NodeLive($id: ID!) {
  node(id: $id) { __typename id ... on ChargingSession { ...SessionLive provider } }
}
""" + LIVE[LIVE.index("fragment SessionLive"):]


def query_plan_of(document: str, roots: Any) -> Any:
    from bff.graphql.engine.query_plans import compile_query

    doc = parse(document)
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    return compile_query(SCHEMA, op, frags, roots), doc


def generic_node(doc: Any, node: Any, monkeypatch: Any) -> Any:
    import asyncio

    import bff.graphql.schema.queries as queries

    async def find(ctx: Any, id: str) -> Any:
        return node

    monkeypatch.setattr(queries, "find_node", find)
    result = asyncio.run(execute(graphql_schema(SCHEMA), doc, variable_values={"id": "x"}))  # type: ignore[arg-type]
    monkeypatch.undo()
    return result


@settings(max_examples=100, deadline=None)
@given(sessions())
def test_a_node_read_plan_answers_like_graphql_core(s: ChargingSession) -> None:
    import asyncio

    import pytest

    node = event(s)

    async def resolve(context: Any, arguments: dict[str, Any]) -> Any:
        assert arguments == {"id": "x"}
        return node

    plan, doc = query_plan_of(NODE_LIVE, {"node": resolve})
    assert plan is not None, "a live session's read compiles"
    with pytest.MonkeyPatch.context() as mp:
        expected = generic_node(doc, node, mp)
    assert expected.errors is None
    assert asyncio.run(plan(None, {"id": "x"})) == expected.data


def test_every_contract_query_plan_answers_like_graphql_core_or_does_not_compile() -> None:
    """Every contract query either compiles to a plan (and then a node read of a session
    answers as graphql-core does) or is left to graphql-core whole."""
    import asyncio

    session = event(ChargingSession(Provider.ROAMING, "s1", SessionStatus.CHARGING, "a", T0))

    async def resolve(context: Any, arguments: dict[str, Any]) -> Any:
        return session

    for name, text in contract_operations().items():
        doc = parse(text)
        op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
        if op.operation.value != "query":
            continue
        plan, _ = query_plan_of(text, {"node": resolve})
        if plan is None:
            continue
        out = asyncio.run(plan(None, {"id": "x"}))
        assert out is not FALLBACK, name
    detail, _ = query_plan_of(contract_operations()["SessionDetail"], {"node": resolve})
    assert detail is None, "its charger needs the resolver's info: graphql-core runs it whole"


def test_a_read_that_cannot_be_completed_steps_aside() -> None:
    import asyncio

    async def raises(context: Any, arguments: dict[str, Any]) -> Any:
        raise ValueError("the resolver failed")

    async def other(context: Any, arguments: dict[str, Any]) -> Any:
        return object()  # no type of the schema

    for resolve in (raises, other):
        plan, _ = query_plan_of(NODE_LIVE, {"node": resolve})
        assert asyncio.run(plan(None, {"id": "x"})) is FALLBACK
    plan, _ = query_plan_of(NODE_LIVE, {"node": raises})
    assert asyncio.run(plan(None, {})) is FALLBACK, "a missing variable: graphql-core says so"
    assert query_plan_of("{ viewer { id } }", {})[0] is None, "a root without a plan resolver"
    typename, _ = query_plan_of("{ __typename }", {})
    assert asyncio.run(typename(None, None)) == {"__typename": "Query"}
