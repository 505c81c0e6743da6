"""Property-based tests of both webhook parsers: whatever arrives, the only exception is
WebhookRejected with a 4xx, and every well-formed signed delivery parses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bff.domain.model import Provider
from bff.errors import WebhookRejected
from bff.providers.plugsurfing.webhooks import parse_plugsurfing_webhook
from bff.providers.roaming.webhooks import parse_roaming_webhook, sign_roaming_webhook

AUTH = "test-webhook-auth"
SECRET = "whsec_dGVzdC1yb2FtaW5nLXNlY3JldA=="
NOW = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
TOLERANCE = 300
FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
ids = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
any_time = st.datetimes(timezones=offsets).map(datetime.isoformat)
recent = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                      timezones=offsets)
#: Before NOW at any offset: a roaming update from the future is refused.
past = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 3, 29),
                    timezones=offsets)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8",
                                 "application/cloudevents+json", "text/plain", "", "json"])


def rejected_or_parsed(call: Any) -> Any:
    try:
        return call()
    except WebhookRejected as exc:
        assert 400 <= exc.status_code < 500, exc.status_code
        return None


# -- Plugsurfing ---------------------------------------------------------------------------

def ps_payloads() -> st.SearchStrategy[Any]:
    """Near-valid bodies: the right shape, anything in the fields."""
    field = json_values | any_time | ids
    return st.fixed_dictionaries({"event": field, "payload": st.fixed_dictionaries(
        {}, optional={"userId": field, "sessionId": field, "timestamp": field})})


@FAST
@given(
    auth=st.sampled_from([AUTH, "", "wrong", AUTH.upper()]) | text,
    content_type=content_types | text,
    extra=st.dictionaries(text, text, max_size=3),
    body=st.binary(max_size=200) | ps_payloads().map(lambda d: json.dumps(d).encode())
    | json_values.map(lambda v: json.dumps(v).encode()),
)
@example(auth=AUTH, content_type="application/json", extra={},
         body=b'{"event": "E", "payload": {"userId": "u", "sessionId": "s", '
              b'"timestamp": "0001-01-01T00:00:00+05:00"}}')
def test_plugsurfing_anything_is_rejected_or_parsed(
    auth: str, content_type: str, extra: dict[str, str], body: bytes
) -> None:
    headers = {**extra, "Authorization": auth, "Content-Type": content_type}
    rejected_or_parsed(lambda: parse_plugsurfing_webhook(headers, body, AUTH))


@FAST
@given(event=text, user=ids, session=ids, at=recent,
       content_type=st.sampled_from(["application/json", "Application/JSON; charset=utf-8"]))
def test_plugsurfing_valid_deliveries_parse(
    event: str, user: str, session: str, at: datetime, content_type: str
) -> None:
    body = json.dumps({"event": event, "payload": {
        "userId": user, "sessionId": session, "timestamp": at.isoformat()}}).encode()
    prompt = parse_plugsurfing_webhook(
        {"authorization": AUTH, "content-type": content_type}, body, AUTH)
    assert (prompt.driver_id, prompt.session_id, prompt.event) == (user, session, event)
    assert prompt.timestamp == at and prompt.timestamp.tzinfo is not None


# -- Roaming -------------------------------------------------------------------------------

def status_objects(valid: bool) -> st.SearchStrategy[dict[str, Any]]:
    if not valid:
        field = json_values | any_time
        return st.fixed_dictionaries({}, optional={k: field for k in (
            "session_id", "status", "energy_kwh", "cost", "currency", "duration_minutes",
            "start_time", "updated_at")})
    money = st.decimals(min_value=0, max_value=10**6, places=2).map(str)
    return st.fixed_dictionaries(
        {"session_id": ids, "status": st.sampled_from(
            ["pending", "active", "stopping", "completed", "failed", "invalid"]) | text,
         "updated_at": past.map(datetime.isoformat)},
        optional={
            "energy_kwh": st.decimals(min_value=0, max_value=10**5, places=3).map(Decimal),
            "cost": money.map(Decimal),
            "currency": st.sampled_from(["EUR", "eur", "JPY", "KWD", "SEK"]),
            "duration_minutes": st.integers(0, 10**6),
            "start_time": recent.map(datetime.isoformat) | st.none(),
        },
    )


def roaming_json(kind: str, data: Any) -> bytes:
    return json.dumps({"type": kind, "data": data}, default=str).encode()


@FAST
@given(
    headers=st.dictionaries(st.sampled_from(["webhook-id", "webhook-timestamp",
                                             "webhook-signature", "content-type"]) | text,
                            text, max_size=5),
    body=st.binary(max_size=200),
)
def test_roaming_anything_unsigned_is_rejected(headers: dict[str, str], body: bytes) -> None:
    assert rejected_or_parsed(
        lambda: parse_roaming_webhook(headers, body, SECRET, TOLERANCE, NOW)) is None


@FAST
@given(
    webhook_id=ids.filter(lambda s: s.strip() == s),
    skew=st.integers(-2 * TOLERANCE, 2 * TOLERANCE),
    content_type=content_types,
    body=st.binary(max_size=200)
    | st.builds(roaming_json, st.sampled_from(["session.updated"]) | text,
                status_objects(valid=False) | json_values),
)
@example(webhook_id="msg_1", skew=0, content_type="application/json", body=roaming_json(
    "session.updated", {"session_id": "r", "status": "active",
                        "updated_at": "0001-01-01T00:00:00+05:00"}))
def test_roaming_signed_anything_is_rejected_or_parsed(
    webhook_id: str, skew: int, content_type: str, body: bytes
) -> None:
    headers = {**sign_roaming_webhook(SECRET, webhook_id, int(NOW.timestamp()) + skew, body),
               "content-type": content_type}
    rejected_or_parsed(lambda: parse_roaming_webhook(headers, body, SECRET, TOLERANCE, NOW))


@FAST
@given(webhook_id=ids.filter(lambda s: s.strip() == s),
       skew=st.integers(-TOLERANCE, TOLERANCE), data=status_objects(valid=True))
def test_roaming_valid_signed_deliveries_parse(
    webhook_id: str, skew: int, data: dict[str, Any]
) -> None:
    body = roaming_json("session.updated", data)
    headers = {**sign_roaming_webhook(SECRET, webhook_id, int(NOW.timestamp()) + skew, body),
               "content-type": "application/json"}
    hook = parse_roaming_webhook(headers, body, SECRET, TOLERANCE, NOW)
    assert hook.webhook_id == webhook_id
    assert hook.session.provider is Provider.ROAMING and hook.session.id == data["session_id"]
    assert hook.session.observed_at == datetime.fromisoformat(data["updated_at"])
    if "energy_kwh" in data:
        assert hook.session.energy is not None and hook.session.energy.watt_hours >= 0


#: Signed, well-formed JSON, one value the domain cannot hold (issue 12 item 7): each is a
#: 400 naming the field, never an exception a route would answer 503 (a sender retries).
ABSURD = {
    "cost 1e308": ("data.cost", '"cost": 1e308, "currency": "EUR"'),
    "cost 1e30 EUR": ("data.cost", '"cost": 1e30, "currency": "EUR"'),
    "cost 30 million EUR": ("data.cost", '"cost": 30000000, "currency": "EUR"'),
    "cost 1e999999999": ("data.cost", '"cost": "1e999999999", "currency": "EUR"'),
    "cost NaN": ("data.cost", '"cost": NaN, "currency": "EUR"'),
    "cost Infinity": ("data.cost", '"cost": Infinity, "currency": "EUR"'),
    "cost -Infinity": ("data.cost", '"cost": -Infinity, "currency": "EUR"'),
    "cost negative": ("data.cost", '"cost": -5, "currency": "EUR"'),
    "energy 1e308": ("data.energy_kwh", '"energy_kwh": 1e308'),
    "energy NaN": ("data.energy_kwh", '"energy_kwh": NaN'),
    "energy 3 GWh": ("data.energy_kwh", '"energy_kwh": 3000000'),
    "energy negative": ("data.energy_kwh", '"energy_kwh": -0.001'),
    "duration 1e30 min": ("data.duration_minutes", '"duration_minutes": 1e30'),
    "duration 10^12 min": ("data.duration_minutes", '"duration_minutes": 1000000000000'),
    "start_time year 0": ("data.start_time", '"start_time": "0000-01-01T00:00:00Z"'),
    "start_time overflow": ("data.start_time", '"start_time": "0001-01-01T00:00:00+05:00"'),
    "updated_at in a year": ("data.updated_at", '"updated_at": "2027-03-30T08:00:00Z"'),
    "updated_at year 9999": ("data.updated_at", '"updated_at": "9999-12-31T23:59:59Z"'),
}


@pytest.mark.parametrize("name", ABSURD)
def test_roaming_absurd_values_are_400_naming_the_field(name: str) -> None:
    field, fragment = ABSURD[name]
    data = '{"session_id": "r", "status": "active", "updated_at": "2026-03-30T07:59:00Z", '
    body = f'{{"type": "session.updated", "data": {data}{fragment}}}}}'.encode()
    if "updated_at" in field:
        body = body.replace(b'"updated_at": "2026-03-30T07:59:00Z", ', b"")
    headers = {**sign_roaming_webhook(SECRET, "msg_x", int(NOW.timestamp()), body),
               "content-type": "application/json"}
    with pytest.raises(WebhookRejected) as rejected:
        parse_roaming_webhook(headers, body, SECRET, TOLERANCE, NOW)
    assert rejected.value.status_code == 400
    assert field in rejected.value.message and SECRET not in rejected.value.message
