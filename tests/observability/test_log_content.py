"""What the server writes to its log, read from its real output (var/server-<port>.log).

No Plugchoice session token in any line of any logger: uvicorn's access log of the
sandbox routes, httpx's request lines, our own upstream lines. A client's mistakes are one
INFO line without a traceback; provider calls are not logged at INFO.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from bff.domain.model import Provider
from bff.store.records import SessionRecords
from tests.conftest import FAST_ENV
from tests.e2e.flows import UTRECHT, WARSAW, connector, detail, start, wait_status
from tests.figures import Figures
from tests.observability.scrape import log_lines
from tests.support import ROOT, GraphQLClient, Server, free_port, wait_for

#: httpx's per-request lines and our own upstream lines switched on, to be checked too.
LOUD = {"httpx": "INFO", "bff.observability.upstream": "DEBUG"}
SESSIONS = "/public-charging/sessions/"


@pytest.fixture(scope="module")
def loud(redis_url: str) -> Iterator[Server]:
    """A server with its own Redis database: the other servers' pollers must not take its
    session (they would ask their own sandboxes, which do not know it, and drop it)."""
    own = redis_url.rsplit("/", 1)[0] + "/12"
    with SyncRedis.from_url(own) as sync:
        sync.flushdb()
    server = Server({**FAST_ENV, "BFF_REDIS_URL": own, "BFF_LOG_LEVELS": json.dumps(LOUD)})
    server.start()
    yield server
    server.stop()


async def plugchoice_token(server: Server, provider_session_id: str) -> str:
    redis = Redis.from_url(server.env["BFF_REDIS_URL"])
    try:
        record = await SessionRecords(redis).get(Provider.PLUGCHOICE, provider_session_id)
    finally:
        await redis.aclose()
    assert record is not None
    return record.extra["token"]


async def test_no_plugchoice_session_token_reaches_the_log(
    loud: Server, figures: Figures
) -> None:
    client = GraphQLClient(loud, loud.token(f"log-{uuid.uuid4().hex[:8]}"))
    try:
        pay = await start(client, await connector(client, UTRECHT), email="driver@example.com")
        assert pay["__typename"] == "PaymentRequired", pay
        sid = pay["session"]["id"]
        confirmed = await client.data("ConfirmPayment", id=sid)
        assert confirmed["confirmPayment"]["__typename"] == "ConfirmPaymentSuccess"
        await wait_status(client, sid, "CHARGING", timeout=30)

        def polls() -> list[dict[str, Any]]:
            return [x for x in log_lines(loud) if x["logger"] == "uvicorn.access"
                    and SESSIONS in x["msg"] and '"GET ' in x["msg"]]

        async def polled() -> list[dict[str, Any]] | None:
            return polls() if len(polls()) >= 5 else None

        await wait_for(polled, 20, what="five polls of the Plugchoice session")
        await client.data("StopSession", id=sid)
        token = await plugchoice_token(loud, (await detail(client, sid))["providerSessionId"])
    finally:
        await client.aclose()

    async def stop_logged() -> bool:
        return any("/stop" in x["msg"] and SESSIONS in x["msg"] for x in log_lines(loud))

    await wait_for(stop_logged, 10, what="the stop call in the log")
    leaks = [line[:200] for line in loud.log_path.read_text().splitlines() if token in line]
    assert not leaks, leaks
    lines = log_lines(loud)
    masked = f"{SESSIONS}[redacted]"

    def naming(logger: str, *parts: str) -> list[dict[str, Any]]:
        return [x for x in lines if x["logger"] == logger
                and all(part in x["msg"] for part in parts)]

    # Every kind of line that names the session's URL is there, masked.
    for logger in ("uvicorn.access", "httpx", "bff.observability.upstream"):
        for call in (f"{masked} ", f"{masked}/confirm", f"{masked}/stop"):
            assert naming(logger, call), (logger, call)
    assert {x["level"] for x in naming("bff.observability.upstream", masked)} == {"DEBUG"}
    mentions = [x for x in lines if SESSIONS in x["msg"] and not x["msg"].endswith(SESSIONS)]
    loggers = sorted({x["logger"] for x in mentions})
    figures(f"log redaction: a Plugchoice session confirmed, polled {len(polls())} times and "
            f"stopped: {len(mentions)} log lines ({', '.join(loggers)}) name its URL, 0 "
            "carry its token")


async def test_client_mistakes_are_one_info_line_and_provider_calls_are_quiet(
    server: Server, client: GraphQLClient, anon: GraphQLClient, figures: Figures
) -> None:
    tag = uuid.uuid4().hex[:8]
    mistakes = {
        "UNAUTHENTICATED": (anon, "{ viewer { id } }"),
        "GRAPHQL_PARSE_FAILED": (anon, "query Broken { chargers("),
        "GRAPHQL_VALIDATION_FAILED": (anon, "{ nope }"),
        "BAD_USER_INPUT": (client, '{ node(id: "not-an-id") { id } }'),
    }
    for code, (who, query) in mistakes.items():
        r = await who.http.post("/graphql", json={"query": query},
                                headers={**who.headers(), "x-request-id": f"{tag}-{code}"})
        assert code in [e["extensions"]["code"] for e in r.json()["errors"]], r.text
    near = {"near": WARSAW, "radiusMeters": 500}
    r = await client.http.post(
        "/graphql", json={"query": client.ops["NearbyChargers"], "variables": near},
        headers={**client.headers(), "x-request-id": f"{tag}-upstream"})
    assert r.status_code == 200 and not r.json().get("errors"), r.text

    def of(rid: str) -> list[dict[str, Any]]:
        return [x for x in log_lines(server) if x.get("request_id") == rid]

    async def all_logged() -> bool:
        return all(any("POST /graphql" in x["msg"] for x in of(f"{tag}-{name}"))
                   for name in [*mistakes, "upstream"])

    await wait_for(all_logged, 10, what="the access lines of every request")
    sizes = []
    for code in mistakes:
        lines = of(f"{tag}-{code}")
        told = [x for x in lines if x.get("code") == code]
        assert len(told) == 1, (code, lines)
        assert told[0]["level"] == "INFO" and "exc" not in told[0], told
        assert all(x["level"] == "INFO" and "exc" not in x for x in lines), lines
        sizes.append(sum(len(json.dumps(x)) for x in lines))
    upstream = of(f"{tag}-upstream")
    assert not [x for x in upstream if x["logger"].startswith(("httpx", "httpcore"))], upstream
    assert not [x for x in upstream if x["logger"] == "bff.observability.upstream"], upstream
    calls = [x for x in upstream if "/_sandbox/" in x["msg"]]  # the sandbox's access lines
    figures(f"client errors ({', '.join(mistakes)}): 1 INFO line each without a traceback, "
            f"{min(sizes)}-{max(sizes)} bytes of log per request with its access line; a "
            f"query with {len(calls)} provider calls: 0 httpx or upstream lines at INFO")


@pytest.fixture
def standalone_sandbox() -> Iterator[tuple[str, Any]]:
    """``bff sandbox`` (what replicas share and the benchmarks run) with its output in a
    file; yields its URL and the file."""
    port = free_port()
    path = ROOT / "var" / f"sandbox-{port}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bff", "sandbox", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "BFF_LOG_LEVEL": "INFO"})
        try:
            yield f"http://127.0.0.1:{port}", path
        finally:
            proc.terminate()
            proc.wait(15)


async def test_the_standalone_sandbox_logs_no_session_token(
    standalone_sandbox: tuple[str, Any],
) -> None:
    url, path = standalone_sandbox
    api = f"{url}/plugchoice/api/v3/public-charging/sessions"
    async with httpx.AsyncClient(timeout=10) as http:

        async def up() -> bool:
            try:
                return (await http.get(f"{url}/plugchoice/_control/stats")).is_success
            except httpx.TransportError:
                return False

        await wait_for(up, 30, 0.1, "bff sandbox to listen")
        r = await http.post(api, json={"code": "UTR01", "connector_id": 1})
        assert r.status_code == 201, r.text
        token = r.json()["session_token"]
        for _ in range(3):
            assert (await http.get(f"{api}/{token}")).status_code == 200
        assert (await http.post(f"{api}/{token}/cancel")).status_code == 200

    async def cancel_logged() -> bool:
        return "/cancel HTTP" in path.read_text()

    await wait_for(cancel_logged, 10, what="the cancel in the sandbox's access log")
    text = path.read_text()
    assert token not in text
    # JSON lines, our format: uvicorn's own config (plain text, unredacted) is not used.
    access = [json.loads(line) for line in text.splitlines() if "uvicorn.access" in line]
    assert sum(f"{SESSIONS}[redacted]" in x["msg"] for x in access) == 4, access
