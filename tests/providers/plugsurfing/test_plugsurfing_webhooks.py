"""The webhook parser: static Authorization first, then the body."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bff.errors import WebhookRejected
from bff.providers.plugsurfing.webhooks import PlugsurfingPrompt, parse_plugsurfing_webhook

AUTH = "Basic c2FuZGJveDp3ZWJob29r"
TS = "2024-01-01T00:00:00Z"
HEADERS = {"Authorization": AUTH, "Content-Type": "application/json"}


def body(event: str = "SESSION_STARTED", **payload: object) -> bytes:
    data: dict[str, object] = {
        "userId": "driver-1",
        "sessionId": "AAdmD55q8Vz",
        "timestamp": "2021-01-30T10:00:00.111111111Z",
    }
    data.update(payload)
    return json.dumps({"event": event, "payload": data}).encode()


def test_good_webhook() -> None:
    prompt = parse_plugsurfing_webhook(HEADERS, body(), AUTH)
    assert prompt == PlugsurfingPrompt(
        event="SESSION_STARTED",
        known=True,
        driver_id="driver-1",
        session_id="AAdmD55q8Vz",
        timestamp=datetime(2021, 1, 30, 10, 0, 0, 111111, tzinfo=UTC),
    )


def test_headers_are_case_insensitive_and_json_may_have_charset() -> None:
    headers = {"authorization": AUTH, "content-type": "application/json; charset=utf-8"}
    assert parse_plugsurfing_webhook(headers, body("SESSION_COMPLETE"), AUTH).known


@pytest.mark.parametrize(
    "event", ["SESSION_COMPLETED", "SESSION_FAILED", "SESSION_FEE_INCURRING", "SESSION_REFUNDED"]
)
def test_aliases_are_known(event: str) -> None:
    assert parse_plugsurfing_webhook(HEADERS, body(event), AUTH).known


def test_unknown_event_is_accepted_as_a_prompt() -> None:
    prompt = parse_plugsurfing_webhook(HEADERS, body("SESSION_TELEPORTED"), AUTH)
    assert (prompt.event, prompt.known, prompt.session_id) == (
        "SESSION_TELEPORTED",
        False,
        "AAdmD55q8Vz",
    )


def test_offset_timestamp_becomes_utc() -> None:
    prompt = parse_plugsurfing_webhook(HEADERS, body(timestamp="2024-05-01T14:00:00+02:00"), AUTH)
    assert prompt.timestamp == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert prompt.timestamp.utcoffset() is not None


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Authorization": "", "Content-Type": "application/json"},
        {"Authorization": AUTH + "x", "Content-Type": "application/json"},
        {"Authorization": AUTH.lower(), "Content-Type": "application/json"},
        {"Authorization": "Bearer " + AUTH, "Content-Type": "application/json"},
    ],
)
def test_missing_or_bad_auth_is_401(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as exc:
        parse_plugsurfing_webhook(headers, body(), AUTH)
    assert exc.value.status_code == 401


def test_empty_expected_auth_accepts_nothing() -> None:
    with pytest.raises(WebhookRejected) as exc:
        parse_plugsurfing_webhook(
            {"Authorization": "", "Content-Type": "application/json"}, body(), ""
        )
    assert exc.value.status_code == 401


def test_auth_is_checked_before_the_body() -> None:
    with pytest.raises(WebhookRejected) as exc:
        parse_plugsurfing_webhook({"Content-Type": "text/plain"}, b"{", AUTH)
    assert exc.value.status_code == 401


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_not_json_is_415(content_type: str | None) -> None:
    headers = {"Authorization": AUTH}
    if content_type:
        headers["Content-Type"] = content_type
    with pytest.raises(WebhookRejected) as exc:
        parse_plugsurfing_webhook(headers, body(), AUTH)
    assert exc.value.status_code == 415


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"event": "SESSION_STARTED"}',
        json.dumps({"payload": {"userId": "u", "sessionId": "s", "timestamp": TS}}).encode(),
        body(timestamp="yesterday"),
        body(timestamp=None),
        body(sessionId=None),
        json.dumps({"event": "X", "payload": {"userId": "u", "timestamp": TS}}).encode(),
    ],
)  # fmt: skip
def test_malformed_is_400(raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as exc:
        parse_plugsurfing_webhook(HEADERS, raw, AUTH)
    assert exc.value.status_code == 400
    assert exc.value.message  # a reason, without echoing the body
    assert "yesterday" not in exc.value.message
