"""Receipts that open the same way for every provider.

Plugsurfing has a document of its own (a signed PDF URL). The roaming platform gives only
receipt data and Plugchoice e-mails its receipt: for those the BFF serves a document of
its own at ``<BFF_PUBLIC_URL>/receipts/<token>``, rendered from the provider's data.

A token is ``<payload>.<mac>``: the payload (url-safe base64 of JSON) names the session by
its global ID and the expiry; the MAC is HMAC-SHA256 with ``BFF_RECEIPT_SECRET`` over the
payload *and the driver's id*, so a link is bound to its driver without carrying the
driver's id in a URL. Opening checks, in order: a token we can read and a session we know
(404), the signature against the session's owner (403), the expiry (410), and, when the
request carries a driver token, that it is the owner's (403). It never answers 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bff import ids
from bff.domain.model import ChargingSession, Provider, Receipt
from bff.errors import BFFError, InvalidInput, ProviderError
from bff.resources import Resources
from bff.settings import Settings
from bff.usecases.sessions import get_receipt, load_session

log = logging.getLogger(__name__)

PATH = "/receipts/"
#: A token longer than this is no token of ours (a session ID is well under 200 chars).
MAX_TOKEN_CHARS = 600


class ReceiptRefused(BFFError):
    """A receipt link that does not open: ``status`` (403, 404, 410, 503) and a reason
    safe to show."""

    code = "RECEIPT_REFUSED"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ReceiptLink:
    url: str
    expires_at: datetime


def link(
    settings: Settings, driver_id: str, provider: Provider, session_id: str, now: datetime
) -> ReceiptLink:
    """A link to the BFF's own document of the session's receipt, for its driver."""
    expires = int((now + timedelta(seconds=settings.receipt_url_ttl_seconds)).timestamp())
    gid = ids.encode(ids.SESSION, provider, session_id)
    payload = _b64(json.dumps({"s": gid, "e": expires}, separators=(",", ":")).encode())
    token = f"{payload}.{_mac(settings, payload, driver_id)}"
    return ReceiptLink(
        url=f"{settings.own_url()}{PATH}{token}",
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def with_link(
    receipt: Receipt, session: ChargingSession, driver_id: str, settings: Settings, now: datetime
) -> Receipt:
    """``receipt`` completed from what the BFF knows of the session, with the BFF's link
    where the provider has no document: an available receipt always has a ``url``."""
    full = complete(receipt, session)
    if not full.available or full.url:
        return full
    bff = link(settings, driver_id, session.provider, session.id, now)
    return replace(full, url=bff.url, expires_at=bff.expires_at)


def complete(receipt: Receipt, session: ChargingSession) -> Receipt:
    """The receipt's blanks filled from the session; the duration from the session's
    timestamps where it has both (a provider's whole minutes are a fallback)."""
    started = receipt.started_at or session.started_at
    ended = receipt.ended_at or session.ended_at
    duration = receipt.duration_seconds
    if started is not None and ended is not None:
        duration = max(0, int((ended - started).total_seconds()))
    elif duration is None:
        duration = session.duration_seconds
    return replace(
        receipt,
        cost=receipt.cost or session.cost,
        charger_name=receipt.charger_name or session.charger_name,
        evse_id=receipt.evse_id or (session.charger_id if _evse_ids(session) else None),
        energy=receipt.energy or session.energy,
        started_at=started,
        ended_at=ended,
        duration_seconds=duration,
        payment_status=receipt.payment_status
        or (session.payment.status if session.payment else None),
    )


@dataclass(frozen=True, slots=True)
class OpenedReceipt:
    receipt: Receipt
    session: ChargingSession


async def open_receipt(
    resources: Resources, token: str, bearer_driver: str | None, now: datetime
) -> OpenedReceipt:
    """The receipt a link names, for the BFF's own document; :class:`ReceiptRefused`
    says why not."""
    settings = resources.settings
    payload, gid, expires = _read(token)
    record = await resources.records.get(gid.provider, gid.key)
    if record is None:
        raise ReceiptRefused(404, "no such receipt")
    if not hmac.compare_digest(token.partition(".")[2], _mac(settings, payload, record.driver_id)):
        raise ReceiptRefused(403, "this receipt link's signature is not valid")
    if now.timestamp() >= expires:
        raise ReceiptRefused(
            410, "this receipt link has expired: open the receipt again from the app"
        )
    if bearer_driver is not None and bearer_driver != record.driver_id:
        raise ReceiptRefused(403, "this receipt belongs to another driver")
    try:
        owned = await load_session(resources, record.driver_id, gid.provider, gid.key)
        if owned is None:
            raise ReceiptRefused(404, "no such receipt")
        receipt = await get_receipt(resources, record.driver_id, gid.provider, gid.key)
    except ProviderError as exc:
        log.warning("receipt of %s:%s not read: %s", gid.provider, gid.key, exc.message)
        raise ReceiptRefused(
            503, "the charging provider could not be reached: try again shortly"
        ) from None
    if receipt is None or not receipt.available:
        raise ReceiptRefused(404, "this session has no receipt yet")
    return OpenedReceipt(complete(receipt, owned.session), owned.session)


def _read(token: str) -> tuple[str, ids.GlobalId, int]:
    """The payload, session and expiry of a token; 404 for anything unreadable."""
    unreadable = ReceiptRefused(404, "no such receipt: the link is not one the BFF made")
    payload, dot, mac = token.partition(".")
    if len(token) > MAX_TOKEN_CHARS or not dot or not payload or not mac:
        raise unreadable
    try:
        data = json.loads(_unb64(payload))
        gid = ids.decode(str(data["s"]), ids.SESSION)
        expires = data["e"]
    except (ValueError, KeyError, TypeError, InvalidInput, binascii.Error):
        raise unreadable from None
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise unreadable
    return payload, gid, expires


def _evse_ids(session: ChargingSession) -> bool:
    """Whether the provider's charger ids are EVSE ids (Plugchoice's are public codes)."""
    return session.provider is not Provider.PLUGCHOICE


def _mac(settings: Settings, payload: str, driver_id: str) -> str:
    key = settings.receipt_secret.get_secret_value().encode()
    message = f"{payload}.{driver_id}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
