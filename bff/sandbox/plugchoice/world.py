"""What the Plugchoice sandbox knows: its chargers and sessions on the sandbox clock.

The public API (:mod:`.api`) and the ``/_control`` routes (:mod:`.control`) both act on
one :class:`PlugchoiceWorld`; neither knows the other.
"""

from __future__ import annotations

import random
import secrets
from typing import Any

from bff.sandbox.common import SandboxClock
from bff.sandbox.plugchoice.fixtures import (
    SimCharger,
    SimConnector,
    charger_json,
    utrecht_chargers,
)
from bff.sandbox.plugchoice.sessions import GONE, ON_CONNECTOR, SimSession


class PlugchoiceWorld:
    """Chargers and sessions; sessions advance whenever they are read."""

    def __init__(self, clock: SandboxClock, rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.reset()

    def reset(self) -> None:
        """Back to the fixtures: no sessions, chargers as shipped."""
        self.chargers: dict[str, SimCharger] = {c.public_code: c for c in utrecht_chargers()}
        self.sessions: dict[str, SimSession] = {}

    def find(self, token: str) -> SimSession | None:
        """A live token's session, advanced to now; None for unknown or expired tokens."""
        session = self.sessions.get(token)
        if session is None:
            return None
        session.advance()
        return None if session.status in GONE else session

    def holder(self, charger: SimCharger, connector: SimConnector) -> SimSession | None:
        for session in self.sessions.values():
            if session.charger is charger and session.connector is connector:
                session.advance()
                if session.status in ON_CONNECTOR:
                    return session
        return None

    def connector_status(self, charger: SimCharger, connector: SimConnector) -> str | None:
        held = self.holder(charger, connector)
        word = held.connector_word() if held else None
        return word or connector.status

    def session_json(self, session: SimSession) -> dict[str, Any]:
        return session.to_json(self.connector_status(session.charger, session.connector))

    def charger_json(self, charger: SimCharger) -> dict[str, Any]:
        live = {c.connector_id: self.connector_status(charger, c) for c in charger.connectors}
        return charger_json(charger, live)

    def new_session(
        self, charger: SimCharger, connector: SimConnector, email: str | None
    ) -> SimSession:
        token = secrets.token_urlsafe(32)
        intent = f"pi_{secrets.token_hex(12)}"
        session = SimSession(
            clock=self.clock,
            token=token,
            charger=charger,
            connector=connector,
            email=email,
            created_at=self.clock.now(),
            client_secret=f"{intent}_secret_{secrets.token_urlsafe(18)}",
            amount_authorized=charger.hold,
        )
        self.sessions[token] = session
        return session
