"""The sandbox's JSON, shaped like the Drive API's (seed ``000_*`` and ``001_*``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bff.sandbox.plugsurfing.fixtures import CURRENCY, VAT_PERCENT, FxEvse, FxLocation
from bff.sandbox.plugsurfing.state import ENDED, SimSession, amount, iso


def iso_duration(d: timedelta) -> str:
    """Like Java's ``Duration.toString``: PT15M, PT28.913S, PT1H2M3.5S, PT0S."""
    millis = max(0, round(d.total_seconds() * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    out = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if rest or out == "PT":
        out += f"{seconds}S"
    return out


def session_json(s: SimSession, now: datetime) -> dict[str, object]:
    end = s.end_time if s.status in ENDED and s.end_time else now
    body: dict[str, object] = {
        "sessionId": s.id,
        "sessionStatus": s.status,
        "charger": {
            "chargingStationName": s.evse.station_name,
            "city": s.location.city,
            "connectorLabel": s.connector.label,
            "evseId": s.evse.evse_id,
            "streetName": s.location.street,
        },
        "connectorId": s.connector.id,
        "duration": iso_duration(end - s.start_time),
        "receiptAvailable": s.status in ("COMPLETE", "REFUNDED"),
        "site": s.location.name,
        "startTime": iso(s.start_time),
        "transactions": list(s.transactions),
    }
    if s.started:
        # Only available after a session has successfully started (seed 000).
        body["chargingKeyType"] = s.key_type
        body["energy"] = {"unit": "WH", "value": round(s.energy_wh)}
        body["price"] = amount(s.running_price_minor())
    if s.balance_status is not None:
        body["balanceStatus"] = s.balance_status
        body["balanceAmountMinor"] = str(s.balance_minor)  # a "Long" sent as a string
    if s.transactions:
        body["paymentMethod"] = "CREDIT_CARD"  # deprecated upstream, still sent
    return body


def evse_status(evse: FxEvse, busy: set[str]) -> str:
    if evse.base_status != "AVAILABLE":
        return evse.base_status
    return "CHARGING" if any(c.id in busy for c in evse.connectors) else "AVAILABLE"


def evse_json(evse: FxEvse, busy: set[str]) -> dict[str, object]:
    status = evse_status(evse, busy)
    return {
        "evseId": evse.evse_id,
        "chargingStationName": evse.station_name,
        "status": status,
        "capabilities": list(evse.capabilities),
        "connectors": [
            {
                "id": c.id,
                "label": c.label,
                "standard": c.standard,
                "format": "CABLE" if c.power_type == "DC" else "SOCKET",
                "powerType": c.power_type,
                "maxPowerKw": c.max_power_kw,
                "status": "CHARGING" if c.id in busy else status,
            }
            for c in evse.connectors
        ],
        "tariff": {
            "currencyCode": CURRENCY,
            "pricePerKwhMinorInclVat": evse.price_per_kwh_minor,
            "startFeeMinorInclVat": 0,
            "perMinuteMinorInclVat": 0,
            "vat": str(VAT_PERCENT),
        },
    }


def location_status(statuses: list[str]) -> str:
    for word in ("AVAILABLE", "CHARGING"):
        if word in statuses:
            return word
    return statuses[0] if statuses else "UNKNOWN"


def location_json(
    loc: FxLocation, evses: list[FxEvse], busy: set[str], distance: float | None = None
) -> dict[str, object]:
    rendered = [evse_json(e, busy) for e in evses]
    body: dict[str, object] = {
        "id": loc.id,
        "name": loc.name,
        "coordinates": {"latitude": loc.latitude, "longitude": loc.longitude},
        "address": {
            "street": loc.street,
            "city": loc.city,
            "postalCode": loc.postal_code,
            "country": "POL",
        },
        "status": location_status([str(e["status"]) for e in rendered]),
        "evses": rendered,
    }
    if distance is not None:
        body["distance"] = round(distance)
    return body


def receipt_pdf(s: SimSession) -> bytes:
    """A one-page PDF receipt (valid enough for any viewer)."""
    price = s.price_minor or 0
    lines = [
        "Plugsurfing sandbox receipt",
        f"Session {s.id}  {s.evse.evse_id}  {s.location.name}",
        f"Energy {round(s.energy_wh)} Wh",
        f"Total {price // 100}.{price % 100:02d} {CURRENCY} incl. {VAT_PERCENT}% VAT",
    ]
    text = " T* ".join(
        f"({line.encode('latin-1', 'replace').decode('latin-1')}) Tj" for line in lines
    )
    stream = f"BT /F1 12 Tf 14 TL 50 780 Td {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
