"""Subscriptions: the live charging screen and the driver's session list.

Each resolver checks the driver, then follows: every state it yields carries its
:class:`~bff.graphql.engine.marks.Marked` (which session, and where that state stands),
so the engine sends no subscriber an older state after a newer one, nor one twice. Each
event gets fresh dataloaders.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from bff import ids
from bff.graphql.engine.marks import Marked
from bff.graphql.schema.context import Info
from bff.graphql.schema.types.session import ChargingSession
from bff.usecases import live
from bff.usecases.live import LiveState, follow_driver, follow_session


def _result(info: Info, state: LiveState, news_only: bool) -> ChargingSession:
    ctx = info.context
    node = ChargingSession.of(
        state.owned, ctx.fresh_loaders(), ctx.resources.settings.start_timeout_seconds
    )
    node.live_mark = Marked(state.key, state.order, state.changed_at, news_only and state.final)
    return node


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The session's current state at once, then every newer state."
    )
    async def session_updated(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[ChargingSession, None]:
        ctx = info.context
        driver = ctx.driver_id()
        gid = ids.decode(str(id), ids.SESSION)
        async with follow_session(ctx.resources, driver, gid.provider, gid.key) as snaps:
            async for snap in snaps:
                now = live.state(ctx.resources, driver, snap)
                yield _result(info, now if isinstance(now, LiveState) else await now, False)

    @strawberry.subscription(description="Every change to any of the driver's sessions.")
    async def viewer_sessions_updated(self, info: Info) -> AsyncGenerator[ChargingSession, None]:
        ctx = info.context
        driver = ctx.driver_id()
        async with follow_driver(ctx.resources, driver) as snaps:
            async for snap in snaps:
                now = live.state(ctx.resources, driver, snap)
                state = now if isinstance(now, LiveState) else await now
                if state.owner in (None, driver):
                    yield _result(info, state, True)
