"""The Plugchoice sandbox: v3 public charging over HTTP, mounted at ``/plugchoice``.

:mod:`.api` serves the documented endpoints and :mod:`.control` the ``/_control`` routes,
both over one :class:`~.world.PlugchoiceWorld`; this module puts them in one app with the
common fault and stats middleware.
"""

from __future__ import annotations

import random

import httpx
from starlette.applications import Starlette
from starlette.types import ASGIApp

from bff.sandbox.common import FaultMiddleware, Faults, SandboxClock, SandboxConfig, control_routes
from bff.sandbox.plugchoice.api import PublicChargingApi
from bff.sandbox.plugchoice.control import sandbox_control_routes
from bff.sandbox.plugchoice.responses import WithRouter
from bff.sandbox.plugchoice.world import PlugchoiceWorld


class PlugchoiceSandbox:
    """A faithful simulator of Plugchoice v3 public charging with chargers around Utrecht."""

    def __init__(self, config: SandboxConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client  # unused: Plugchoice sends no webhooks
        self.clock = SandboxClock(config.speed)
        self.faults = Faults()
        self.world = PlugchoiceWorld(self.clock, random.Random(config.seed))
        self.api = PublicChargingApi(self.world, self.clock)

    def reset(self) -> None:
        """Back to the fixtures: no sessions, no rate-limit history, chargers as shipped."""
        self.world.reset()
        self.api.reset()

    def app(self) -> ASGIApp:
        routes = [*self.api.routes()]
        if self.config.control:
            routes += [*control_routes(self.faults, self.reset),
                       *sandbox_control_routes(self.world)]
        inner = Starlette(routes=routes)
        return WithRouter(FaultMiddleware(inner, self.faults), inner)

    async def start(self) -> None:
        """Nothing runs in the background: sessions advance whenever they are read."""

    async def aclose(self) -> None:
        """Nothing to release."""
