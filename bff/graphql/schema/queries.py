"""Query root: node, chargers near a point, and the signed-in driver."""

from __future__ import annotations

from typing import Any

import strawberry

from bff import ids
from bff.domain.model import GeoPoint
from bff.errors import InvalidInput
from bff.graphql.schema.context import Context, Info
from bff.graphql.schema.selection import field_node, plain_names
from bff.graphql.schema.types.charger import Charger, ChargerConnection, ChargerEdge, Connector
from bff.graphql.schema.types.common import GeoPointInput, Node, PageInfo, SessionFilter
from bff.graphql.schema.types.session import ChargingSession, SessionConnection, SessionEdge
from bff.seams.strawberry import field_nodes
from bff.usecases.chargers import nearby_chargers
from bff.usecases.history import OnFound, session_history
from bff.usecases.sessions import OwnedSession, load_session

DEFAULT_PAGE = 20


def page_size(info: Info, first: int | None) -> int:
    cap = info.context.resources.settings.max_page_size
    n = DEFAULT_PAGE if first is None else first
    if n < 1 or n > cap:
        raise InvalidInput(f"first must be between 1 and {cap}", field="first")
    return n


@strawberry.type
class Viewer:
    id: strawberry.ID

    @strawberry.field(description="The driver's sessions from every provider, newest first.")
    async def sessions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: SessionFilter | None = None,
    ) -> SessionConnection:
        ctx = info.context
        n = page_size(info, first)
        timeout = ctx.resources.settings.start_timeout_seconds
        page = await session_history(
            ctx.resources,
            str(self.id),
            n,
            after,
            filter.to_domain() if filter else SessionFilter().to_domain(),
            ctx.failures,
            on_found=_charger_prefetch(info, timeout),
        )
        edges = [
            SessionEdge(cursor=e.cursor, node=ChargingSession.of(e.owned, ctx.loaders, timeout))
            for e in page.edges
        ]
        return SessionConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else after,
            ),
        )


def _charger_prefetch(info: Info, timeout: float) -> OnFound | None:
    """When the page selects ``node { charger }``: start loading the chargers of each
    provider's sessions as soon as that provider has answered, so that the chargers of
    the providers listed from our own index cost no second round trip after the slowest
    history call. Sessions that carry what is selected need no load at all.

    Read from the document itself, before any provider is asked: ``info.selected_fields``
    would convert the page's whole selection (every field of every fragment) first."""
    charger = field_node(field_nodes(info), "sessions", "edges", "node", "charger")
    if charger is None:
        return None
    wanted = plain_names(charger)
    loader = info.context.loaders.charger_by_id

    def prefetch(found: list[OwnedSession]) -> None:
        for owned in found:
            if ChargingSession.of(owned, info.context.loaders, timeout).charger_summary(wanted):
                continue
            s, record = owned.session, owned.record
            charger_id = s.charger_id or (record.charger_id if record else None)
            if charger_id:
                future = loader.load((s.provider, charger_id))
                # Not awaited if the page leaves this session out: do not warn then.
                future.add_done_callback(_retrieved)  # type: ignore[attr-defined]

    return prefetch


def _retrieved(future: Any) -> None:
    if not future.cancelled():
        future.exception()


async def find_node(ctx: Context, id: str) -> Node | None:
    """The object with global ID ``id`` the driver may see, or None (``Query.node``; also
    what a compiled plan calls: :data:`bff.graphql.schema.ROOT_RESOLVERS`)."""
    gid = ids.decode(id)
    if gid.type == ids.SESSION:
        owned = await load_session(ctx.resources, ctx.driver_id(), gid.provider, gid.key)
        if owned is None:
            return None
        return ChargingSession.of(owned, ctx.loaders, ctx.resources.settings.start_timeout_seconds)
    if gid.type == ids.CHARGER:
        c = await ctx.loaders.charger_by_id.load((gid.provider, gid.key))
        return Charger.of(c) if c else None
    if gid.type == ids.CONNECTOR:
        c = await ctx.loaders.charger_by_id.load((gid.provider, gid.parts[0]))
        conn = c.connector(gid.parts[1]) if c else None
        return Connector.of(c, conn) if c and conn else None
    return None


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global ID.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await find_node(info.context, str(id))

    @strawberry.field(description="Chargers within a radius, nearest first, across providers.")
    async def chargers(
        self,
        info: Info,
        near: GeoPointInput,
        radius_meters: int,
        first: int | None = None,
        after: str | None = None,
    ) -> ChargerConnection:
        ctx = info.context
        n = page_size(info, first)
        page = await nearby_chargers(
            ctx.resources,
            GeoPoint(near.latitude, near.longitude),
            radius_meters,
            n,
            after,
            ctx.failures,
        )
        edges = [
            ChargerEdge(cursor=i.cursor, node=Charger.of(i.charger, i.distance_meters))
            for i in page.items
        ]
        return ChargerConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else after,
            ),
        )

    @strawberry.field(description="The signed-in driver.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer(id=strawberry.ID(info.context.driver_id()))
