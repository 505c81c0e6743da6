"""Standard Webhooks verification of the roaming platform's session webhooks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from bff.domain.model import SessionStatus
from bff.domain.money import Money
from bff.errors import WebhookRejected
from bff.providers.roaming.webhooks import parse_roaming_webhook, sign_roaming_webhook

SECRET = "whsec_" + base64.b64encode(b"test-roaming-webhook-secret").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-else").decode()
NOW = datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = json.dumps(
    {
        "type": "session.updated",
        "data": {
            "session_id": "770e8400-e29b-41d4-a716-446655440002",
            "status": "active",
            "energy_kwh": 15.2,
            "cost": 5.32,
            "currency": "EUR",
            "duration_minutes": 18,
            "start_time": "2026-03-30T08:00:00Z",
            "updated_at": "2026-03-30T08:29:58.250Z",
        },
    }
).encode()


def headers(body: bytes = BODY, secret: str = SECRET, ts: int = TS) -> dict[str, str]:
    return {"content-type": "application/json", **sign_roaming_webhook(secret, "msg_1", ts, body)}


def parse(hdrs: dict[str, str], body: bytes = BODY) -> object:
    return parse_roaming_webhook(hdrs, body, SECRET, 300, NOW)


def rejected(hdrs: dict[str, str], body: bytes = BODY) -> int:
    with pytest.raises(WebhookRejected) as info:
        parse_roaming_webhook(hdrs, body, SECRET, 300, NOW)
    return info.value.status_code


def test_standard_webhooks_reference_vector() -> None:
    # The example from the Standard Webhooks / Svix documentation.
    h = sign_roaming_webhook(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert h == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_valid_webhook() -> None:
    hook = parse_roaming_webhook(headers(), BODY, SECRET, 300, NOW)
    assert hook.webhook_id == "msg_1"
    assert hook.status_word == "active"
    s = hook.session
    assert s.id == "770e8400-e29b-41d4-a716-446655440002"
    assert s.status is SessionStatus.CHARGING
    assert s.observed_at == datetime(2026, 3, 30, 8, 29, 58, 250000, tzinfo=UTC)
    assert s.energy is not None and s.energy.watt_hours == 15_200
    assert s.cost is not None and s.cost.total == Money(532, "EUR")


def test_header_names_are_case_insensitive() -> None:
    hdrs = {k.title(): v for k, v in headers().items()}
    assert parse_roaming_webhook(hdrs, BODY, SECRET, 300, NOW).webhook_id == "msg_1"


def test_forged_body() -> None:
    forged = BODY.replace(b"5.32", b"0.01")
    assert rejected(headers(), forged) == 401


def test_forged_id() -> None:
    assert rejected({**headers(), "webhook-id": "msg_2"}) == 401


def test_wrong_secret() -> None:
    assert rejected(headers(secret=OTHER_SECRET)) == 401


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_or_future_timestamp(offset: int) -> None:
    with pytest.raises(WebhookRejected) as info:
        parse(headers(ts=TS + offset))
    assert info.value.status_code == 401
    assert "stale" in info.value.message


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamp_within_tolerance(offset: int) -> None:
    parse(headers(ts=TS + offset))


def test_non_numeric_timestamp() -> None:
    assert rejected({**headers(), "webhook-timestamp": "2026-03-30T08:30:00Z"}) == 401


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing: str) -> None:
    hdrs = headers()
    del hdrs[missing]
    assert rejected(hdrs) == 401


def test_multiple_signatures_one_valid() -> None:
    good = headers()["webhook-signature"]
    old = sign_roaming_webhook(OTHER_SECRET, "msg_1", TS, BODY)["webhook-signature"]
    hdrs = {**headers(), "webhook-signature": f"v1a,abc= {old} {good}"}
    assert parse_roaming_webhook(hdrs, BODY, SECRET, 300, NOW).webhook_id == "msg_1"


def test_multiple_signatures_none_valid() -> None:
    old = sign_roaming_webhook(OTHER_SECRET, "msg_1", TS, BODY)["webhook-signature"]
    assert rejected({**headers(), "webhook-signature": f"{old} v1,bm9wZQ=="}) == 401


def test_valid_hmac_under_another_version_is_refused() -> None:
    sig = headers()["webhook-signature"].removeprefix("v1,")
    assert rejected({**headers(), "webhook-signature": f"v2,{sig}"}) == 401


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_non_json_content_type(content_type: str) -> None:
    assert rejected({**headers(), "content-type": content_type}) == 415


def test_json_content_type_with_charset() -> None:
    parse({**headers(), "content-type": "application/json; charset=utf-8"})


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"type": "session.updated"}).encode(),
        json.dumps(
            {"type": "session.updated", "data": {"session_id": "x", "status": "active"}}
        ).encode(),
        json.dumps(
            {
                "type": "session.updated",
                "data": {"status": "active", "updated_at": "2026-03-30T08:00:00Z"},
            }
        ).encode(),
        json.dumps(
            {
                "type": "session.updated",
                "data": {"session_id": "x", "status": "active", "updated_at": "yesterday"},
            }
        ).encode(),
    ],
)
def test_malformed_body(body: bytes) -> None:
    assert rejected(headers(body), body) == 400


def test_unknown_currency_is_malformed() -> None:
    body = BODY.replace(b'"EUR"', b'"EURO"')
    assert rejected(headers(body), body) == 400


def test_unknown_type() -> None:
    body = BODY.replace(b"session.updated", b"session.deleted")
    with pytest.raises(WebhookRejected) as info:
        parse(headers(body), body)
    assert (info.value.status_code, info.value.message) == (400, "unknown webhook type")


def test_signature_is_checked_before_the_body() -> None:
    # An unsigned caller learns nothing about what we would accept.
    assert rejected({"content-type": "text/plain"}, b"not json") == 401


def test_secret_without_prefix_is_accepted() -> None:
    bare = SECRET.removeprefix("whsec_")
    hook = parse_roaming_webhook(headers(), BODY, bare, 300, NOW)
    assert hook.status_word == "active"


def test_invalid_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        parse_roaming_webhook(headers(), BODY, "whsec_not base64!", 300, NOW)


def test_tolerance_applies_to_delivery_not_to_updated_at() -> None:
    # Tolerance applies to the delivery timestamp, not the state's updated_at.
    late = NOW + timedelta(hours=2)
    hook = parse_roaming_webhook(headers(ts=int(late.timestamp())), BODY, SECRET, 300, late)
    assert hook.session.observed_at < late
