"""The schema: Strawberry types and resolvers (the engine executes it)."""

from __future__ import annotations

from typing import Any

import strawberry

from bff.graphql.schema.mutations.sessions import Mutation
from bff.graphql.schema.queries import Query, find_node
from bff.graphql.schema.subscriptions import Subscription
from bff.graphql.schema.types.charger import Charger, Connector
from bff.graphql.schema.types.session import ChargingSession
from bff.settings import Settings


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    del settings  # the schema is the same for every configuration
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[ChargingSession, Charger, Connector],
    )


async def _node(context: Any, arguments: dict[str, Any]) -> Any:
    return await find_node(context, str(arguments["id"]))


#: Root fields a compiled query resolves without graphql-core, as their resolvers do
#: (``await resolve(context, arguments)``): the app's reads of one object by its ID.
ROOT_RESOLVERS = {"node": _node}


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
