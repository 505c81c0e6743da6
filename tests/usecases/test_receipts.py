"""Receipt links and data (bff/usecases/receipts.py) without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bff.domain.model import ChargingSession, Energy, Provider, Receipt, SessionStatus
from bff.logs import redact
from bff.settings import Settings
from bff.usecases import receipts

T0 = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
SESSION = ChargingSession(
    provider=Provider.ROAMING, id="s1", status=SessionStatus.COMPLETED,
    provider_status="completed", observed_at=T0 + timedelta(seconds=40), charger_id="FI-1",
    started_at=T0, ended_at=T0 + timedelta(seconds=37), duration_seconds=0,
    energy=Energy(200),
)  # fmt: skip


def test_an_available_receipt_always_has_a_url() -> None:
    settings = Settings(receipt_url_ttl_seconds=60)
    r = receipts.with_link(Receipt(available=True, duration_seconds=0), SESSION, "d1",
                           settings, T0)  # fmt: skip
    assert r.url is not None and r.url.startswith(f"{settings.own_url()}/receipts/")
    assert r.expires_at == T0 + timedelta(seconds=60)
    # Seconds from the session's timestamps, not the receipt's whole minutes.
    assert r.duration_seconds == 37 and r.energy == Energy(200) and r.evse_id == "FI-1"
    own = Receipt(available=True, url="https://provider.example/r.pdf")
    assert receipts.with_link(own, SESSION, "d1", settings, T0).url == own.url
    assert receipts.with_link(Receipt(available=False), SESSION, "d1", settings, T0).url is None


def test_links_bind_the_driver_and_differ_per_driver() -> None:
    s = Settings()
    mine = receipts.link(s, "d1", Provider.ROAMING, "s1", T0)
    theirs = receipts.link(s, "d2", Provider.ROAMING, "s1", T0)
    assert mine.url.rpartition(".")[0] == theirs.url.rpartition(".")[0]  # same payload
    assert mine.url != theirs.url  # another MAC
    assert "d1" not in mine.url  # the driver's id never travels in the link
    other = Settings(receipt_secret="another-secret-0123456789abcdef0123")
    assert receipts.link(other, "d1", Provider.ROAMING, "s1", T0).url != mine.url


def test_receipt_links_are_masked_in_logs() -> None:
    url = receipts.link(Settings(), "d1", Provider.ROAMING, "s1", T0).url
    token = url.rpartition("/")[2]
    line = redact(f'GET {url} "GET /receipts/{token} HTTP/1.1" 200')
    assert token not in line and line.count("[redacted]") == 2
