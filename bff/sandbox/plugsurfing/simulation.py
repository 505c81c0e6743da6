"""The running simulation: sessions on the sandbox clock and the webhooks they send.

The Drive API routes (:mod:`.drive`) and the ``/_control`` routes (:mod:`.control`) act
on one :class:`DriveSimulation`; neither knows the other or the app that mounts them.
"""

from __future__ import annotations

import random

from bff.sandbox.common import SandboxClock, SandboxConfig, Ticker, WebhookSender
from bff.sandbox.plugsurfing.state import Event, SessionStore, iso


class DriveSimulation:
    """The session store on a clock, advanced by a ticker and before every request."""

    def __init__(self, config: SandboxConfig, clock: SandboxClock, webhooks: WebhookSender):
        self.config = config
        self.clock = clock
        self.rng = random.Random(config.seed)
        self.store = SessionStore(clock, self.rng)
        self.webhooks = webhooks
        interval = min(0.25, max(0.01, 0.5 / config.speed))
        self.ticker = Ticker(self.advance, interval, "plugsurfing-sandbox-ticker")

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
