"""Subscriptions: the live charging screen and the driver's session list.

Each event gets fresh dataloaders; ownership is checked before anything is sent. Under
the shared-subscription transport (``info.context.live``, see :mod:`bff.graphql.live`)
a run either follows the channel for everyone who asked the same (no catch-up) or reads
one subscriber's current state (catch-up only); outside it, a run does both.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from bff import ids
from bff.domain.model import Provider
from bff.errors import BFFError, NotFound
from bff.graphql.context import Context, Info
from bff.graphql.errors import as_graphql_error
from bff.graphql.types.session import ChargingSession
from bff.service.sessions import OwnedSession, load_session
from bff.store.records import SessionRecord


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The session's current state at once, then every newer state."
    )
    async def session_updated(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[ChargingSession, None]:
        ctx = info.context
        services = ctx.services
        try:
            driver = ctx.driver_id()
            gid = ids.decode(str(id), ids.SESSION)
            if await load_session(services, driver, gid.provider, gid.key) is None:
                raise NotFound("no such session")
        except BFFError as exc:
            raise as_graphql_error(exc) from None
        timeout = services.settings.start_timeout_seconds
        run = ctx.live
        options = run.watch_options() if run is not None else {}
        async with services.hub.watch_session(gid.provider, gid.key, **options) as updates:
            if run is not None:
                run.subscribed()
            async for session in updates:
                record = await _record(ctx, gid.provider, gid.key)
                yield ChargingSession.of(
                    OwnedSession(session, record, driver), ctx.fresh_loaders(), timeout
                )

    @strawberry.subscription(description="Every change to any of the driver's sessions.")
    async def viewer_sessions_updated(self, info: Info) -> AsyncGenerator[ChargingSession, None]:
        ctx = info.context
        try:
            driver = ctx.driver_id()
        except BFFError as exc:
            raise as_graphql_error(exc) from None
        services = ctx.services
        timeout = services.settings.start_timeout_seconds
        run = ctx.live
        options = run.watch_options() if run is not None else {}
        async with services.hub.watch_driver(driver, **options) as updates:
            if run is not None:
                run.subscribed()
            async for session in updates:
                record = await _record(ctx, session.provider, session.id)
                if record is not None and record.driver_id != driver:
                    continue
                yield ChargingSession.of(
                    OwnedSession(session, record, driver), ctx.fresh_loaders(), timeout
                )


async def _record(ctx: Context, provider: Provider, session_id: str) -> SessionRecord | None:
    """The session's record: the one that came with the snapshot, else read."""
    carried = ctx.live.carried_record() if ctx.live is not None else None
    if carried is not None:
        return carried[0]
    return await ctx.services.records.get(provider, session_id)
