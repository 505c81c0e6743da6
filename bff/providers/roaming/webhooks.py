"""The roaming platform's session webhooks, signed by the Standard Webhooks convention.

``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` (several
space-separated signatures while a secret rotates), keyed with the base64 part of a
``whsec_...`` secret; ``webhook-timestamp`` in Unix seconds within a tolerance either
way. The signature is checked before anything in the body is looked at. Replays (a seen
``webhook-id``) are the receiver's concern.

A signed body with a value we cannot hold (a cost of ``1e308``, negative energy, an
``updated_at`` in the future) is refused with 400, naming the field: a sender retries a
5xx, and resending the same body can never succeed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bff.domain.model import ChargingSession
from bff.domain.money import InvalidAmount
from bff.errors import WebhookRejected
from bff.providers.base import SessionState
from bff.providers.roaming.mappers import session_from_status
from bff.providers.roaming.schemas import WebhookBody, WebhookSessionData
from bff.providers.webhook_http import header, json_body
from bff.settings import Settings

SECRET_PREFIX = "whsec_"
SESSION_UPDATED = "session.updated"


@dataclass(frozen=True, slots=True)
class RoamingWebhook:
    """A verified webhook: the session as of ``data.updated_at`` and the raw status word."""

    webhook_id: str
    session: ChargingSession
    status_word: str


def _session_updated(data: WebhookSessionData) -> tuple[ChargingSession, str]:
    return session_from_status(data, observed_at=data.updated_at), data.status


_HANDLERS: Mapping[str, Callable[[WebhookSessionData], tuple[ChargingSession, str]]] = {
    SESSION_UPDATED: _session_updated,
}


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix is optional)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # A configuration error, not the sender's: fail loudly.
        raise ValueError("the roaming webhook secret is not whsec_<base64>") from None


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_roaming_webhook(
    secret: str, webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature(secret, webhook_id, timestamp, body)}",
    }


def parse_roaming_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    tolerance_seconds: int,
    now: datetime,
) -> RoamingWebhook:
    """Verify and parse; raises :class:`WebhookRejected` with the status to answer."""
    webhook_id = (header(headers, "webhook-id") or "").strip()
    raw_timestamp = (header(headers, "webhook-timestamp") or "").strip()
    signatures = (header(headers, "webhook-signature") or "").strip()
    if not (webhook_id and raw_timestamp and signatures):
        raise WebhookRejected(401, "missing webhook signature headers")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookRejected(401, "invalid webhook timestamp") from None
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise WebhookRejected(401, "stale webhook timestamp")
    expected = signature(secret, webhook_id, timestamp, body).encode()
    if not _any_matches(signatures, expected):
        raise WebhookRejected(401, "invalid webhook signature")

    event = json_body(headers, body, WebhookBody)
    handler = _HANDLERS.get(event.type)
    if handler is None:
        raise WebhookRejected(400, "unknown webhook type")
    # Newer than anything that follows, it would hold the session at this state.
    if event.data.updated_at > now + timedelta(seconds=tolerance_seconds):
        raise WebhookRejected(400, "invalid webhook: data.updated_at (in the future)")
    try:
        session, word = handler(event.data)
    except InvalidAmount as exc:  # the schema's bounds should have caught it
        raise WebhookRejected(400, f"invalid webhook: data ({exc})") from None
    return RoamingWebhook(webhook_id=webhook_id, session=session, status_word=word)


def _any_matches(header: str, expected: bytes) -> bool:
    matched = False
    for part in header.split():
        version, _, value = part.partition(",")
        # Check every v1 signature (no early exit) so timing says nothing about which.
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            matched = True
    return matched


def roaming_webhook_event(
    headers: Mapping[str, str], body: bytes, settings: Settings, now: datetime
) -> SessionState:
    """The registry's parser: the session's new state, named by its ``webhook-id``."""
    hook = parse_roaming_webhook(
        headers,
        body,
        settings.roaming_webhook_secret.get_secret_value(),
        settings.webhook_tolerance_seconds,
        now,
    )
    return SessionState(hook.webhook_id, hook.session)
