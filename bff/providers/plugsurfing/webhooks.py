"""Plugsurfing webhooks: check the static ``Authorization`` header, then read the prompt.

A webhook carries no session state, only which session changed: the handler re-fetches
it. Events arrive once, in any order, possibly never; unknown event names are accepted
for the same reason (they are still a prompt to re-fetch).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bff.errors import WebhookRejected
from bff.providers.base import RefetchSession
from bff.providers.plugsurfing.constants import KNOWN_EVENTS
from bff.providers.plugsurfing.schemas import WebhookBody
from bff.providers.webhook_http import header, json_body
from bff.settings import Settings


@dataclass(frozen=True, slots=True)
class PlugsurfingPrompt:
    """Re-fetch ``session_id`` of ``driver_id``; ``known`` says whether we know the event."""

    event: str
    known: bool
    driver_id: str
    session_id: str
    timestamp: datetime


def parse_plugsurfing_webhook(
    headers: Mapping[str, str], body: bytes, expected_auth: str
) -> PlugsurfingPrompt:
    """The prompt in a webhook, or :class:`WebhookRejected` with the status to answer.

    401 for a missing or wrong ``Authorization`` (compared in constant time), 415 for a
    body that is not JSON, 400 for malformed JSON, missing fields or a bad timestamp.
    """
    got = header(headers, "authorization")
    # An empty expected value must not accept an empty header.
    if (
        not expected_auth
        or got is None
        or not hmac.compare_digest(got.encode("utf-8"), expected_auth.encode("utf-8"))
    ):
        raise WebhookRejected(401, "bad or missing Authorization")
    parsed = json_body(headers, body, WebhookBody)
    return PlugsurfingPrompt(
        event=parsed.event,
        known=parsed.event in KNOWN_EVENTS,
        driver_id=parsed.payload.user_id,
        session_id=parsed.payload.session_id,
        timestamp=parsed.payload.timestamp,
    )


def plugsurfing_webhook_event(
    headers: Mapping[str, str], body: bytes, settings: Settings, now: datetime
) -> RefetchSession:
    """The registry's parser: every Plugsurfing webhook is a prompt to re-fetch."""
    auth = settings.plugsurfing_webhook_auth.get_secret_value()
    prompt = parse_plugsurfing_webhook(headers, body, auth)
    return RefetchSession(prompt.session_id, prompt.driver_id, prompt.event, prompt.known)
