"""The client and its auth over ``httpx.MockTransport``: tokens, API key, error reasons."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import httpx
import pytest

from bff.errors import ProviderNotFound, ProviderRejected, ProviderUnavailable
from bff.providers.http import ProviderHttp
from bff.providers.plugsurfing.auth import ApiKeyAuth, PlugsurfingAuth, plugsurfing_auth
from bff.providers.plugsurfing.client import PlugsurfingClient
from bff.providers.plugsurfing.constants import TOKEN_PATH
from bff.providers.plugsurfing.schemas import PaymentChallenge, StartResponse

BASE = "https://drive.test/api"
SECRET = "s3cr3t-client-secret"
SESSION = {"sessionId": "S1", "sessionStatus": "STARTED"}

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Upstream:
    """A tiny fake Drive API that records what it was sent."""

    def __init__(self, expires_in: int = 300) -> None:
        self.expires_in = expires_in
        self.tokens_issued = 0
        self.valid: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.reject_token = False
        self.route: Handler = lambda r: httpx.Response(200, json=SESSION)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith(TOKEN_PATH):
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            if self.reject_token or form.get("client_secret") != SECRET:
                return httpx.Response(401, json={"error": "invalid_client"})
            assert form["grant_type"] == "client_credentials" and form["client_id"] == "bff"
            assert "authorization" not in request.headers
            self.tokens_issued += 1
            token = f"tok{self.tokens_issued}"
            self.valid.add(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": self.expires_in})
        auth = request.headers.get("authorization", "")
        key = request.headers.get("x-api-key")
        if key != "the-key" and auth.removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401, json={"code": "UNAUTHORIZED"})
        return self.route(request)


def make(
    upstream: Upstream, auth: httpx.Auth, retries: int = 2
) -> tuple[PlugsurfingClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(upstream), auth=auth)
    return PlugsurfingClient(ProviderHttp("PLUGSURFING", http, retries=retries)), http


def oauth(clock: Callable[[], float] | None = None) -> PlugsurfingAuth:
    auth = plugsurfing_auth(BASE, "bff", SECRET, None)
    assert isinstance(auth, PlugsurfingAuth)
    if clock is not None:
        auth._clock = clock
    return auth


async def test_token_fetched_once_and_reused_even_concurrently() -> None:
    upstream = Upstream()
    client, http = make(upstream, oauth())
    async with http:
        await asyncio.gather(*(client.get_session("u", f"S{i}") for i in range(10)))
        await client.get_session("u", "S1")
    assert upstream.tokens_issued == 1
    assert str(upstream.requests[0].url) == BASE + TOKEN_PATH


async def test_token_refreshed_shortly_before_expiry() -> None:
    upstream, clock = Upstream(expires_in=300), FakeClock()
    client, http = make(upstream, oauth(clock))
    async with http:
        await client.get_session("u", "S1")
        clock.now += 250  # still well before expiry
        await client.get_session("u", "S1")
        assert upstream.tokens_issued == 1
        clock.now += 25  # within the refresh margin (30 s) of expiry
        await client.get_session("u", "S1")
    assert upstream.tokens_issued == 2


async def test_revoked_token_is_refreshed_once_on_401() -> None:
    upstream = Upstream()
    client, http = make(upstream, oauth())
    async with http:
        await client.get_session("u", "S1")
        upstream.valid.clear()  # revoked upstream
        session = await client.get_session("u", "S1")
    assert session.session_id == "S1"
    assert upstream.tokens_issued == 2


async def test_persistent_401_is_not_retried_forever() -> None:
    upstream = Upstream()
    upstream.route = lambda r: httpx.Response(401, json={"code": "UNAUTHORIZED"})
    client, http = make(upstream, oauth(), retries=0)
    async with http:
        with pytest.raises(ProviderRejected):
            await client.get_session("u", "S1")
    assert upstream.tokens_issued == 2  # the first token and exactly one refresh
    assert len(upstream.requests) == 4


async def test_bad_credentials_fail_without_leaking_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream = Upstream()
    upstream.reject_token = True
    auth = oauth()
    client, http = make(upstream, auth)
    with caplog.at_level(logging.DEBUG):
        async with http:
            with pytest.raises(ProviderUnavailable) as exc:
                await client.get_session("u", "S1")
    assert SECRET not in exc.value.message
    assert SECRET not in caplog.text
    assert SECRET not in repr(auth)


async def test_api_key_header_and_no_token() -> None:
    upstream = Upstream()
    auth = plugsurfing_auth(BASE, "bff", SECRET, "the-key")
    assert isinstance(auth, ApiKeyAuth) and "the-key" not in repr(auth)
    client, http = make(upstream, auth)
    async with http:
        await client.get_session("u", "S1")
    assert upstream.tokens_issued == 0
    assert upstream.requests[0].headers["x-api-key"] == "the-key"


async def test_paths_quote_ids_and_send_filters() -> None:
    upstream = Upstream()
    upstream.route = lambda r: httpx.Response(200, json={"sessions": [], "nextCursor": None})
    client, http = make(upstream, ApiKeyAuth("the-key"))
    async with http:
        await client.list_sessions(
            "user/1", limit=5, cursor="c1", statuses=["STARTED", "STOP_FAILED"]
        )
    request = upstream.requests[-1]
    assert request.url.raw_path.startswith(b"/api/drive/v1/users/user%2F1/sessions?")
    assert dict(request.url.params) == {
        "limit": "5",
        "cursor": "c1",
        "status": "STARTED,STOP_FAILED",
    }


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (422, "CHARGER_NOT_REMOTE_CAPABLE", ProviderRejected.NOT_SUPPORTED),
        (409, "CONNECTOR_BLOCKED", ProviderRejected.CONNECTOR_UNAVAILABLE),
        (409, "CONNECTOR_UNAVAILABLE", ProviderRejected.CONNECTOR_UNAVAILABLE),
        (404, "CONNECTOR_NOT_FOUND", ProviderRejected.UNKNOWN_CONNECTOR),
        (400, "INVALID_REQUEST", ProviderRejected.INVALID),
        (402, "PAYMENT_METHOD_MISSING", ProviderRejected.PAYMENT_REQUIRED),
    ],
)
async def test_start_rejections_carry_a_reason(status: int, code: str, reason: str) -> None:
    upstream = Upstream()
    upstream.route = lambda r: httpx.Response(status, json={"code": code, "message": "no"})
    client, http = make(upstream, ApiKeyAuth("the-key"))
    async with http:
        with pytest.raises(ProviderRejected) as exc:
            await client.start_session("u", "conn==")
    assert exc.value.reason == reason
    assert len(upstream.requests) == 1  # a write is sent once


async def test_start_ok_and_3ds_challenge() -> None:
    upstream = Upstream()
    challenge_body = {
        "sessionId": "S2",
        "clientSecret": "pi_secret",
        "code": "PAYMENT_AUTHENTICATION_REQUIRED",
    }
    answers = iter(
        [
            httpx.Response(201, json={"sessionId": "S1"}),
            httpx.Response(402, json=challenge_body),
        ]
    )
    upstream.route = lambda r: next(answers)
    client, http = make(upstream, ApiKeyAuth("the-key"))
    async with http:
        ok = await client.start_session("u", "conn==")
        challenge = await client.start_session("u", "conn==")
    assert ok == StartResponse(sessionId="S1")
    assert isinstance(challenge, PaymentChallenge) and challenge.client_secret == "pi_secret"
    assert json.loads(upstream.requests[0].content) == {"connectorId": "conn=="}


async def test_reads_are_retried_writes_are_not() -> None:
    upstream = Upstream()
    upstream.route = lambda r: httpx.Response(503)
    client, http = make(upstream, ApiKeyAuth("the-key"), retries=2)
    async with http:
        with pytest.raises(ProviderUnavailable):
            await client.get_session("u", "S1")
        assert len(upstream.requests) == 3
        with pytest.raises(ProviderUnavailable):
            await client.stop_session("u", "S1")
    assert len(upstream.requests) == 4


async def test_unknown_session_and_unreadable_answer() -> None:
    upstream = Upstream()
    upstream.route = lambda r: httpx.Response(404, json={"code": "SESSION_NOT_FOUND"})
    client, http = make(upstream, ApiKeyAuth("the-key"))
    async with http:
        with pytest.raises(ProviderNotFound):
            await client.get_session("u", "S1")
        with pytest.raises(ProviderNotFound):
            await client.stop_session("u", "S1")
        assert await client.get_receipt("S1") is None
        upstream.route = lambda r: httpx.Response(200, json={"sessionStatus": "STARTED"})
        with pytest.raises(ProviderUnavailable):
            await client.get_session("u", "S1")


@pytest.mark.parametrize(("fields", "where"), [
    ({"energy": {"unit": "KWH", "value": 1e308}}, "energy"),
    ({"energy": {"unit": "WH", "value": "3e9"}}, "energy"),
    ({"energy": {"unit": "WH", "value": -1}}, "energy.value"),
    ({"price": {"currencyCode": "EUR", "minorInclVat": "1e30"}}, "price.minorInclVat"),
    ({"price": {"currencyCode": "EUR", "minorInclVat": "1e999999999"}}, "price.minorInclVat"),
    ({"balanceAmountMinor": "-99999999999"}, "balanceAmountMinor"),
    ({"price": {"currencyCode": "EUR", "minorInclVat": 5, "minorExclVat": 10**30}},
     "price.minorExclVat"),
])
async def test_a_session_with_absurd_values_is_unreadable_and_names_the_field(
    fields: dict[str, object], where: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 12 item 7: a poll or a webhook's re-fetch writes nothing from such an answer.
    upstream = Upstream()
    upstream.route = lambda r: httpx.Response(200, json={**SESSION, **fields})
    client, http = make(upstream, ApiKeyAuth("the-key"))
    async with http:
        with caplog.at_level(logging.WARNING), pytest.raises(ProviderUnavailable):
            await client.get_session("u", "S1")
    assert f"SessionModel): {where} (" in caplog.text, caplog.text
