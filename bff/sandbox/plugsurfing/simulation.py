"""The running simulation: sessions on the sandbox clock and the webhooks they send.

The Drive API routes (:mod:`.drive`) and the ``/_control`` routes (:mod:`.control`) act
on one :class:`DriveSimulation`; neither knows the other or the app that mounts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from bff.sandbox.common import SandboxClock, SandboxConfig, WebhookSender
from bff.sandbox.plugsurfing.state import Event, SessionStore, iso

log = logging.getLogger(__name__)


class DriveSimulation:
    """The session store on a clock, advanced by a ticker and before every request."""

    def __init__(self, config: SandboxConfig, clock: SandboxClock, webhooks: WebhookSender):
        self.config = config
        self.clock = clock
        self.rng = random.Random(config.seed)
        self.store = SessionStore(clock, self.rng)
        self.webhooks = webhooks
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick())

    async def aclose(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def _tick(self) -> None:
        interval = min(0.25, max(0.01, 0.5 / self.config.speed))
        while True:
            await asyncio.sleep(interval)
            try:
                self.advance()
            except Exception:  # a bug in one tick must not stop the simulation
                log.exception("plugsurfing sandbox tick failed")

    def advance(self) -> None:
        """Apply every step that is due and send its webhooks."""
        for event in self.store.advance(self.clock.now()):
            self.notify(event)

    def notify(self, event: Event) -> None:
        """The session event, sent once with the static ``Authorization`` we were given."""
        base = self.config.webhook_base_url
        url = f"{base.rstrip('/')}/webhooks/plugsurfing" if base else None
        body = {
            "event": event.name,
            "payload": {
                "userId": event.user_id,
                "sessionId": event.session_id,
                "timestamp": iso(event.at),
            },
        }
        self.webhooks.send(url, body, {"Authorization": self.config.plugsurfing_webhook_auth})
