"""The Strawberry seam: a field reader gives what Strawberry's resolution gives, and
refuses every field it cannot read from the parent alone."""

from __future__ import annotations

import strawberry
from graphql import GraphQLSchema, parse

from bff.seams.strawberry import field_nodes, field_reader, graphql_schema, is_subscription_field


@strawberry.type
class Thing:
    n: int

    @strawberry.field(description="n doubled")
    def double(self) -> int:
        return self.n * 2

    @strawberry.field
    def times(self, k: int) -> int:
        return self.n * k

    @strawberry.field
    async def later(self) -> int:
        return self.n

    @strawberry.field
    def seen(self, info: strawberry.Info) -> int:
        return len(field_nodes(info))


@strawberry.type
class Query:
    @strawberry.field
    def thing(self) -> Thing:
        return Thing(n=21)


SCHEMA = strawberry.Schema(query=Query)


def test_the_graphql_core_schema_is_strawberrys() -> None:
    gql = graphql_schema(SCHEMA)
    assert isinstance(gql, GraphQLSchema) and gql.query_type is not None
    assert set(gql.get_type("Thing").fields) == {"n", "double", "times", "later", "seen"}  # type: ignore[union-attr]


def test_a_reader_gives_what_strawberry_resolves() -> None:
    result = SCHEMA.execute_sync("{ thing { n double seen } }")
    assert result.data == {"thing": {"n": 21, "double": 42, "seen": 1}}
    thing = Thing(n=21)
    for name in ("n", "double"):
        read = field_reader(SCHEMA, "Thing", name)
        assert read is not None and read(thing) == result.data["thing"][name]


def test_fields_that_need_more_than_their_parent_have_no_reader() -> None:
    assert field_reader(SCHEMA, "Thing", "times") is None  # arguments
    assert field_reader(SCHEMA, "Thing", "later") is None  # async
    assert field_reader(SCHEMA, "Thing", "seen") is None  # info
    assert field_reader(SCHEMA, "Thing", "nope") is None
    assert not is_subscription_field(SCHEMA, "Query", "thing")
    assert parse("{ thing { n } }")
