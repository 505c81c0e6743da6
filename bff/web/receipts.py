"""``GET /receipts/{token}``: the BFF's own receipt document (HTML), for providers that
have none (:mod:`bff.usecases.receipts` makes and checks the links).

A link opens by itself, as a provider's signed URL does (an in-app browser sends no
header); a request that also carries a driver token must be the owner's. Refusals are a
small page with the reason and 403, 404, 410 or 503, never a 500.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html import escape

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from bff.domain.model import ChargingSession, Receipt
from bff.errors import Unauthenticated
from bff.resources import Resources
from bff.usecases.receipts import PATH, ReceiptRefused, open_receipt

log = logging.getLogger(__name__)

#: Nothing is loaded from elsewhere, nothing cached, no referrer leaks the link.
HEADERS = {
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}


def receipt_routes() -> list[BaseRoute]:
    return [Route(PATH + "{token}", receipt_page, methods=["GET"])]


async def receipt_page(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    now = datetime.now(UTC)
    try:
        driver = await _bearer_driver(resources, request.headers.get("authorization"))
        opened = await open_receipt(resources, request.path_params["token"], driver, now)
    except ReceiptRefused as exc:
        return _page("Receipt not available", f"<p>{escape(exc.message)}</p>", exc.status)
    except (RedisError, OSError) as exc:
        log.warning("receipt not opened: %s", type(exc).__name__)
        return _page("Receipt not available", "<p>try again shortly</p>", 503)
    return _page("Charging receipt", render(opened.receipt, opened.session), 200)


async def _bearer_driver(resources: Resources, header: str | None) -> str | None:
    if header is None:
        return None
    try:
        driver, _ = await resources.auth.authenticate(header)
    except Unauthenticated as exc:
        raise ReceiptRefused(403, f"the driver token is not valid: {exc.message}") from None
    return driver


def render(r: Receipt, s: ChargingSession) -> str:
    """The receipt's rows as HTML; every value escaped."""
    rows: list[tuple[str, str | None]] = [
        ("Network", r.network),
        ("Charger", r.charger_name),
        ("EVSE", r.evse_id),
        ("Session", s.id),
        ("Started", _when(r.started_at)),
        ("Ended", _when(r.ended_at)),
        ("Duration", _duration(r.duration_seconds)),
        ("Energy", f"{r.energy.kilowatt_hours:.3f} kWh" if r.energy else None),
    ]
    if r.cost is not None:
        rows.append(("Total incl. VAT", r.cost.total.formatted()))
        if r.cost.excl_vat is not None:
            rows.append(("Excl. VAT", r.cost.excl_vat.formatted()))
        if r.cost.vat_percent is not None:
            rows.append(("VAT", f"{r.cost.vat_percent.normalize():f}%"))
    rows.append(("Payment", r.payment_status.value if r.payment_status else None))
    cells = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows if v is not None
    )
    body = f"<table>{cells}</table>"
    if r.emailed_to:
        body += f"<p>A copy was e-mailed to {escape(r.emailed_to)}.</p>"
    return body


def _when(t: datetime | None) -> str | None:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else None


def _duration(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"


def _page(title: str, body: str, status: int) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;max-width:32rem}"
        "th{text-align:left;padding-right:1rem;font-weight:500}"
        f"</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)
