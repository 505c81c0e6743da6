"""``@plain_field``: resolved straight from the parent, with the same values and errors
as ``@strawberry.field``; anything but a synchronous method taking only ``self`` is
refused when declared."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry

from bff.graphql.schema.types.common import Energy
from bff.graphql.schema.types.session import ChargingSession
from bff.seams.strawberry import plain_field


@strawberry.type
class Thing:
    n: int

    @plain_field(description="n doubled")
    def double(self) -> int:
        return self.n * 2

    @plain_field()
    def broken(self) -> int | None:
        raise ValueError("no value here")


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing]:
        return [Thing(n=1), Thing(n=21)]


def _field(cls: Any, name: str) -> Any:
    return next(f for f in cls.__strawberry_definition__.fields if f.python_name == name)


def test_values_and_errors_as_a_resolver_gives_them() -> None:
    schema = strawberry.Schema(query=Query)
    result = schema.execute_sync("{ things { n double broken } }")
    assert result.data == {
        "things": [{"n": 1, "double": 2, "broken": None}, {"n": 21, "double": 42, "broken": None}]
    }
    assert result.errors is not None
    assert [e.path for e in result.errors] == [["things", 0, "broken"], ["things", 1, "broken"]]
    assert "n doubled" in str(schema)
    assert _field(Thing, "double").is_basic_field


def test_only_synchronous_methods_of_self() -> None:
    async def later(self: Any) -> int:
        return 1

    def with_info(self: Any, info: strawberry.Info) -> int:
        return 1

    def with_argument(self: Any, n: int) -> int:
        return n

    for method in (later, with_info, with_argument):
        with pytest.raises(TypeError, match="synchronous method taking only self"):
            plain_field()(method)


def test_the_history_page_fields_are_plain() -> None:
    sync = ["status", "provider", "cost", "can_stop", "can_abandon", "receipt", "energy"]
    assert all(_field(ChargingSession, name).is_basic_field for name in sync)
    assert not _field(ChargingSession, "charger").is_basic_field  # async: Strawberry's way
    assert _field(Energy, "kilowatt_hours").is_basic_field
