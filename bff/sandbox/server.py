"""All provider sandboxes in one Starlette app: ``/plugsurfing``, ``/plugchoice``, ``/roaming``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from bff.sandbox.common import SandboxConfig
from bff.sandbox.plugchoice import PlugchoiceSandbox
from bff.sandbox.plugsurfing import PlugsurfingSandbox
from bff.sandbox.roaming import RoamingSandbox
from bff.settings import Settings


def sandbox_config(settings: Settings, host: str | None = None) -> SandboxConfig:
    """The sandboxes' config from the BFF's settings: the credentials and webhook secrets
    the BFF expects, and where its webhooks go. One function for the in-process sandbox
    and ``bff sandbox``, so a standalone sandbox shared by replicas signs what they check.
    ``host``: where it listens, if not ``settings.host`` (its control routes depend on it)."""
    api_key = settings.plugsurfing_api_key
    return SandboxConfig(
        speed=settings.sandbox_speed,
        webhook_base_url=settings.own_url(),
        plugsurfing_client_id=settings.plugsurfing_client_id,
        plugsurfing_client_secret=settings.plugsurfing_client_secret.get_secret_value(),
        plugsurfing_api_key=api_key.get_secret_value() if api_key is not None else None,
        plugsurfing_webhook_auth=settings.plugsurfing_webhook_auth.get_secret_value(),
        roaming_jwt_secret=settings.roaming_jwt_secret.get_secret_value(),
        roaming_webhook_secret=settings.roaming_webhook_secret.get_secret_value(),
        chaos=settings.sandbox_chaos,
        control=settings.sandbox_control_on(host),
    )


class Sandboxes:
    """The three simulators and the httpx client they send webhooks with."""

    def __init__(self, config: SandboxConfig) -> None:
        # Webhooks go to the BFF's uvicorn, which closes a connection idle 5 s: drop idle
        # ones sooner, or a webhook sent as the BFF closes its connection is lost.
        self.client = httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(keepalive_expiry=4.0))
        self.plugsurfing = PlugsurfingSandbox(config, self.client)
        self.plugchoice = PlugchoiceSandbox(config, self.client)
        self.roaming = RoamingSandbox(config, self.client)

    def mounts(self) -> list[Mount]:
        return [
            Mount("/plugsurfing", app=self.plugsurfing.app()),
            Mount("/plugchoice", app=self.plugchoice.app()),
            Mount("/roaming", app=self.roaming.app()),
        ]

    async def start(self) -> None:
        for s in (self.plugsurfing, self.plugchoice, self.roaming):
            await s.start()

    async def aclose(self) -> None:
        for s in (self.plugsurfing, self.plugchoice, self.roaming):
            await s.aclose()
        await self.client.aclose()


def create_sandbox_app(config: SandboxConfig) -> Starlette:
    """A standalone sandbox server (``bff sandbox``), e.g. shared by several BFF replicas."""
    sandboxes = Sandboxes(config)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await sandboxes.start()
        try:
            yield
        finally:
            await sandboxes.aclose()

    return Starlette(routes=sandboxes.mounts(), lifespan=lifespan)
