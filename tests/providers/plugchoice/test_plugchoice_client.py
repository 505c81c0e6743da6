"""PlugchoiceClient against httpx.MockTransport: requests it sends, errors it raises."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bff.domain.model import SessionRef
from bff.errors import ProviderNotFound, ProviderRateLimited, ProviderRejected, ProviderUnavailable
from bff.providers.http import ProviderHttp
from bff.providers.plugchoice.adapter import PlugchoiceAdapter
from bff.providers.plugchoice.client import MAX_CODES_PER_REQUEST, PlugchoiceClient

Handler = Callable[[httpx.Request], httpx.Response]
SESSION = {"status": "charging", "connector_id": 1}


def make(handler: Handler, retries: int = 2) -> tuple[PlugchoiceClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.AsyncClient(base_url="https://pc.test/root", transport=httpx.MockTransport(record))
    return PlugchoiceClient(ProviderHttp("PLUGCHOICE", http, retries=retries)), seen


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> Handler:
    return lambda _: httpx.Response(status, json=body, headers=headers)


async def test_start_sends_code_connector_and_email() -> None:
    body = {
        "session_token": "tok",
        "data": {**SESSION, "status": "created"},
        "payment": {"client_secret": "pi_1_secret_2", "publishable_key": "pk_test_1"},
    }
    client, seen = make(answer(201, body))
    started = await client.start_session("UTR01", 2, "a@b.nl")
    assert started.session_token == "tok"
    assert started.payment is not None and started.payment.client_secret == "pi_1_secret_2"
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/root/api/v3/public-charging/sessions"
    assert json.loads(request.content) == {"code": "UTR01", "connector_id": 2, "email": "a@b.nl"}
    assert "authorization" not in request.headers


async def test_start_without_email_leaves_it_out() -> None:
    client, seen = make(answer(201, {"session_token": "t", "data": SESSION}))
    await client.start_session("UTR01", 1, None)
    assert json.loads(seen[0].content) == {"code": "UTR01", "connector_id": 1}


async def test_token_is_quoted_into_the_path() -> None:
    client, seen = make(answer(200, {"data": SESSION}))
    await client.confirm_session("a/b c?")
    assert seen[0].url.raw_path == b"/root/api/v3/public-charging/sessions/a%2Fb%20c%3F/confirm"


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, {"message": "The charger is offline."}, ProviderRejected.CHARGER_OFFLINE),
        (409, {"message": "busy"}, ProviderRejected.CONNECTOR_UNAVAILABLE),
        (422, {"message": "x", "errors": {"connector_id": ["x"]}}, "UNKNOWN_CONNECTOR"),
        (422, {"message": "x"}, ProviderRejected.UNKNOWN_CONNECTOR),
        (422, {"message": "x", "errors": {"email": ["bad"]}}, ProviderRejected.INVALID),
        (418, {"message": "teapot"}, ProviderRejected.INVALID),
    ],
)
async def test_start_errors(status: int, body: object, reason: str) -> None:
    client, seen = make(answer(status, body))
    with pytest.raises(ProviderRejected) as caught:
        await client.start_session("UTR01", 1)
    assert caught.value.reason == reason
    assert caught.value.provider == "PLUGCHOICE"
    assert len(seen) == 1


async def test_start_unknown_charger_is_not_found() -> None:
    client, _ = make(answer(404, {"message": "Charger not found."}))
    with pytest.raises(ProviderNotFound, match="charger"):
        await client.start_session("NOPE", 1)


async def test_rate_limited_write_is_not_retried_and_keeps_retry_after() -> None:
    client, seen = make(answer(429, {"message": "Too Many Attempts."}, {"Retry-After": "17"}))
    with pytest.raises(ProviderRateLimited) as caught:
        await client.confirm_session("tok")
    assert caught.value.retry_after_seconds == 17
    assert len(seen) == 1


async def test_rate_limited_read_is_retried_then_raised() -> None:
    client, seen = make(answer(429, {"message": "Too Many Attempts."}, {"Retry-After": "3"}))
    with pytest.raises(ProviderRateLimited) as caught:
        await client.show_session("tok")
    assert caught.value.retry_after_seconds == 3
    assert len(seen) == 3


@pytest.mark.parametrize("call", ["show_session", "confirm_session", "stop_session"])
async def test_unknown_token_is_not_found(call: str) -> None:
    client, seen = make(answer(404, {"message": "Not found."}))
    with pytest.raises(ProviderNotFound, match="unknown or expired"):
        await getattr(client, call)("tok")
    assert len(seen) == 1  # a 404 is an answer, not a reason to retry


async def test_malformed_answer_is_unavailable() -> None:
    client, _ = make(lambda _: httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(ProviderUnavailable):
        await client.show_session("tok")
    client, _ = make(answer(200, {"data": {"connector_id": 1}}))  # no status
    with pytest.raises(ProviderUnavailable):
        await client.show_session("tok")


async def test_server_error_on_write_is_unavailable_once() -> None:
    client, seen = make(answer(503, {"message": "down"}))
    with pytest.raises(ProviderUnavailable):
        await client.stop_session("tok")
    assert len(seen) == 1


async def test_charger_codes_are_deduplicated_and_chunked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        codes = request.url.params["codes"].split(",")
        return httpx.Response(
            200,
            json={"data": [{"public_code": c, "latitude": 52.0, "longitude": 5.0} for c in codes]},
        )

    client, seen = make(handler)
    codes = [f"C{i}" for i in range(MAX_CODES_PER_REQUEST + 10)]
    found = await client.get_chargers([*codes, "C0", ""])
    assert [c.public_code for c in found] == codes
    assert [len(r.url.params["codes"].split(",")) for r in seen] == [MAX_CODES_PER_REQUEST, 10]


async def test_no_codes_no_request() -> None:
    client, seen = make(answer(200, {"data": []}))
    assert await client.get_chargers([]) == []
    assert seen == []


async def test_search_sends_the_point_and_radius() -> None:
    client, seen = make(answer(200, {"data": []}))
    await client.search_chargers(52.09, 5.12, 1500, limit=20)
    params = seen[0].url.params
    assert (params["latitude"], params["longitude"], params["radius"], params["limit"]) == (
        "52.09",
        "5.12",
        "1500",
        "20",
    )


async def test_adapter_stop_before_charging_falls_back_to_cancel() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stop"):
            return httpx.Response(409, json={"message": "The session is not charging."})
        return httpx.Response(200, json={"data": {**SESSION, "status": "abandoned"}})

    client, seen = make(handler)
    session = await PlugchoiceAdapter(client).stop_session(SessionRef("d", "s", {"token": "t"}))
    assert session.provider_status == "abandoned"
    assert [r.url.path.rsplit("/", 1)[-1] for r in seen] == ["stop", "cancel"]


async def test_adapter_stop_of_a_finished_session_is_rejected() -> None:
    client, seen = make(answer(409, {"message": "no"}))
    with pytest.raises(ProviderRejected) as caught:
        await PlugchoiceAdapter(client).stop_session(SessionRef("d", "s", {"token": "t"}))
    assert caught.value.reason == ProviderRejected.INVALID
    assert "stopped" in caught.value.message
    assert len(seen) == 2
