"""Redis killed without saving and started empty under six live sessions (two per
provider) on a running ``bff serve``: what the driver and the operator see.

With the replicas' copy of the live records (the default), every session is restored:
``node`` answers, history lists it, ``stopSession`` stops it, and a live screen opened
before the loss goes on. Without the copy, the providers that can say whose a session is
give it back (Plugsurfing by webhook and history, roaming when its driver opens it) and
the Plugchoice sessions, whose token lived only in Redis, are reported unrecoverable: in
``/readyz``, at ERROR and WARNING in the log, in a metric, and to the driver who asks.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bff import ids
from bff.domain.model import Provider, SessionRef
from bff.providers.registry import build_adapter
from bff.settings import Settings
from tests.conftest import FAST_ENV
from tests.e2e.flows import HELSINKI, UTRECHT, WARSAW, connector, detail, start, wait_status
from tests.figures import Figures
from tests.redis_server import RedisServer
from tests.support import GraphQLClient, Server, subscribe, wait_for

ROAMING_EVSES = ("FI-VRT-E20002", "FI-VRT-E12346", "FI-VRT-E20001", "FI-VRT-E12345")
CHECK_SECONDS = 0.5


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    r = RedisServer()
    r.start()
    yield r
    r.close()


def serve(redis: RedisServer, **env: str) -> Server:
    srv = Server({**FAST_ENV, "BFF_REDIS_URL": redis.url,
                  "BFF_REDIS_CHECK_SECONDS": str(CHECK_SECONDS), **env})
    srv.start()
    return srv


async def readyz(srv: Server) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=srv.url, timeout=10) as http:
        r = await http.get("/readyz")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def metric(srv: Server, name: str, **labels: str) -> float | None:
    """A sample of /metrics (scraping it does not make the BFF check Redis)."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=10) as http:
        text = (await http.get("/metrics")).text
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", text, re.M)
    return float(found.group(1)) if found else None


def log_lines(srv: Server, level: str, needle: str) -> list[dict[str, Any]]:
    out = []
    for line in srv.log_path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") == level and needle in entry.get("msg", ""):
            out.append(entry)
    return out


async def start_six(c: GraphQLClient) -> dict[str, list[str]]:
    """Two charging sessions at each provider (Plugchoice's paid and confirmed)."""
    made: dict[str, list[str]] = {"PLUGSURFING": [], "ROAMING": [], "PLUGCHOICE": []}
    for i in range(2):
        got = await start(c, await connector(c, WARSAW, skip=i))
        assert got["__typename"] == "StartSessionSuccess", got
        made["PLUGSURFING"].append(got["session"]["id"])
        pay = await start(c, await connector(c, UTRECHT, skip=i), email="loss@example.com")
        assert pay["__typename"] == "PaymentRequired", pay
        made["PLUGCHOICE"].append(pay["session"]["id"])
        confirmed = await c.data("ConfirmPayment", id=pay["session"]["id"])
        assert confirmed["confirmPayment"]["__typename"] == "ConfirmPaymentSuccess", confirmed
    for evse in ROAMING_EVSES:
        if len(made["ROAMING"]) == 2:
            break
        got = await start(c, await connector(c, HELSINKI, evse=evse))
        if got["__typename"] == "StartSessionSuccess":
            made["ROAMING"].append(got["session"]["id"])
    assert len(made["ROAMING"]) == 2, "two roaming EVSEs must start"
    for sids in made.values():
        for sid in sids:
            await wait_status(c, sid, "CHARGING", timeout=40)
    return made


async def empty_redis_under(srv: Server, redis: RedisServer) -> float:
    """Wait until the BFF has seen all six live; kill Redis without saving and start it
    empty; the seconds until the BFF's own watch (not a /readyz call) noticed."""
    async def knows_six() -> bool:
        known = (await readyz(srv))["live_sessions_known"]
        return sum(known.values()) >= 6

    await wait_for(knows_six, 20, 0.1, "the BFF to know the six live sessions")
    redis.stop(save=False)
    redis.start()
    back = time.monotonic()

    async def noticed() -> bool:
        return (await metric(srv, "bff_redis_data_losses_total") or 0) >= 1

    await wait_for(noticed, 20, 0.05, "the loss to be noticed")
    return time.monotonic() - back


async def history_ids(c: GraphQLClient) -> set[str]:
    data = await c.data("SessionHistory", first=50)
    return {e["node"]["id"] for e in data["viewer"]["sessions"]["edges"]}


def counted(by_provider: dict[str, int]) -> str:
    """``4 (PLUGSURFING 2, ROAMING 2)``."""
    parts = ", ".join(f"{p} {n}" for p, n in sorted(by_provider.items()))
    return f"{sum(by_provider.values())}" + (f" ({parts})" if parts else "")


def live_sids(made: dict[str, list[str]]) -> list[str]:
    return [sid for sids in made.values() for sid in sids]


async def test_redis_emptied_every_session_restored_from_the_replicas_copy(
    own_redis: RedisServer, figures: Figures
) -> None:
    srv = serve(own_redis)
    c = GraphQLClient(srv, srv.token(f"loss-{uuid.uuid4().hex[:6]}"))
    try:
        made = await start_six(c)
        watched = made["PLUGCHOICE"][0]
        async with subscribe(srv, c.token, c.ops["LiveSession"], {"id": watched},
                             "LiveSession") as screen:
            first = (await screen.next())["data"]["sessionUpdated"]
            detected = await empty_redis_under(srv, own_redis)

            body = await readyz(srv)
            assert body["status"] == "ready" and len(body["degraded"]) == 1, body
            loss = body["redis_losses"][0]
            assert loss["lost"] == 6
            assert loss["restored"] == {"PLUGSURFING": 2, "ROAMING": 2, "PLUGCHOICE": 2}, loss
            assert loss["unrecoverable"] == {} and loss["pending"] == {}, loss
            assert "Redis runs without persistence" in " ".join(body["warnings"])
            assert body["redis_persistence"]["durable"] is False
            errors = log_lines(srv, "ERROR", "Redis emptied under us")
            assert len(errors) == 1 and (errors[0]["lost"], errors[0]["restored"]) == (6, 6)
            assert "restored 6 (PLUGCHOICE 2, PLUGSURFING 2, ROAMING 2)" in errors[0]["msg"]

            # The driver: each session answers, is listed, and stops.
            for sid in live_sids(made):
                assert (await detail(c, sid))["status"] == "CHARGING", sid
            assert set(live_sids(made)) <= await history_ids(c)
            stopped = 0
            for sid in live_sids(made):
                got = (await c.data("StopSession", id=sid))["stopSession"]
                assert got["__typename"] == "StopSessionSuccess", (sid, got)
                stopped += 1
            # The live screen opened before the loss goes on to the end.
            while True:
                state = (await screen.next(30))["data"]["sessionUpdated"]
                if state["status"] in ("STOPPED", "COMPLETED"):
                    break
            assert state["updatedAt"] > first["updatedAt"]
        figures(f"Redis emptied under {loss['lost']} live sessions (replica copy on): "
                f"detected in {detected:.2f} s (check every {CHECK_SECONDS} s); restored "
                f"{counted(loss['restored'])} from the replica's copy (Plugchoice tokens "
                f"included); node, history and stopSession answered for {stopped}/6; a live "
                f"screen opened before went on to {state['status']}; unrecoverable "
                f"{counted(loss['unrecoverable'])}; reported in /readyz, log (ERROR), metric")
    finally:
        await c.aclose()
        srv.stop()


async def test_redis_emptied_without_the_copy_providers_attribute_and_the_rest_is_reported(
    own_redis: RedisServer, figures: Figures
) -> None:
    srv = serve(own_redis, BFF_REDIS_KEEP_LIVE_RECORDS="false")
    driver = f"loss-{uuid.uuid4().hex[:6]}"
    c = GraphQLClient(srv, srv.token(driver))
    adapter, provider_http = build_adapter(
        Provider.PLUGSURFING, f"{srv.url}/_sandbox/plugsurfing", Settings()
    )
    try:
        made = await start_six(c)
        at_car = made["PLUGSURFING"][0]
        ref = SessionRef(driver, ids.decode(at_car, ids.SESSION).key)
        detected = await empty_redis_under(srv, own_redis)

        body = await readyz(srv)
        loss = body["redis_losses"][0]
        assert loss["restored"] == {} and loss["lost"] == 6, loss
        assert loss["unrecoverable"] == {"PLUGCHOICE": 2}, loss
        assert loss["pending"] == {"PLUGSURFING": 2, "ROAMING": 2}, loss
        assert "unrecoverable 2 (PLUGCHOICE 2)" in body["degraded"][0]
        warned = log_lines(srv, "WARNING", "cannot be reached again")
        assert len(warned) == 1 and warned[0]["unrecoverable"] == 2
        assert "(PLUGCHOICE 2)" in warned[0]["msg"]
        errors = log_lines(srv, "ERROR", "Redis emptied under us")
        assert len(errors) == 1 and (errors[0]["lost"], errors[0]["unrecoverable"]) == (6, 2)
        assert await metric(srv, "bff_redis_lost_sessions", provider="PLUGCHOICE",
                            state="unrecoverable") == 2

        # Plugsurfing by webhook: stopped at the car, its webhook names the driver.
        await adapter.stop_session(ref)

        async def re_owned_by_webhook() -> bool:
            got = (await readyz(srv))["redis_losses"][0]["recovered"]
            return got.get("PLUGSURFING", 0) >= 1

        await wait_for(re_owned_by_webhook, 20, 0.1, "the webhook to re-own a session")
        # History: Plugsurfing's from its API; roaming's index was in Redis.
        listed = await history_ids(c)
        assert set(made["PLUGSURFING"]) <= listed
        assert not listed & set(made["ROAMING"] + made["PLUGCHOICE"])
        # Roaming: the driver opens it, the platform answers the driver's own JWT.
        for sid in made["ROAMING"]:
            assert (await detail(c, sid))["status"] == "CHARGING"
        assert set(made["PLUGSURFING"] + made["ROAMING"]) <= await history_ids(c)
        for sid in [made["PLUGSURFING"][1], *made["ROAMING"]]:
            got = (await c.data("StopSession", id=sid))["stopSession"]
            assert got["__typename"] == "StopSessionSuccess", (sid, got)
        # Plugchoice: gone, and the driver is told why and what to do.
        for sid in made["PLUGCHOICE"]:
            assert (await c.data("SessionDetail", id=sid))["node"] is None
            got = (await c.data("StopSession", id=sid))["stopSession"]
            assert got["__typename"] == "NotFound", got
            assert "lost when Redis was emptied" in got["message"], got

        async def settled() -> dict[str, Any] | None:
            now = (await readyz(srv))["redis_losses"][0]
            return now if now["pending"] == {} else None

        final = await wait_for(settled, 20, 0.1, "every attributable session re-owned")
        assert final["recovered"] == {"PLUGSURFING": 2, "ROAMING": 2}, final
        assert final["unrecoverable"] == {"PLUGCHOICE": 2}, final
        figures(f"Redis emptied under {final['lost']} live sessions (replica copy off): "
                f"detected in {detected:.2f} s; recovered {counted(final['recovered'])} "
                f"(Plugsurfing by webhook and history, roaming when the driver opened them), "
                f"unrecoverable {counted(final['unrecoverable'])} (Plugchoice: token lost); "
                f"reported in /readyz, log (ERROR + WARNING), bff_redis_lost_sessions, and "
                f"to the driver's stopSession")
    finally:
        await provider_http.aclose()
        await c.aclose()
        srv.stop()


async def test_persistence_is_reported_at_start(figures: Figures) -> None:
    """AOF on and a replica attached: durable, nothing to warn about; the same Redis
    without its replica: one warning, in the log and in /readyz."""
    primary, replica = RedisServer(), RedisServer()
    primary.start("--appendonly", "yes", "--appendfsync", "everysec")
    replica.start("--replicaof", "127.0.0.1", str(primary.port))
    srv: Server | None = None
    try:
        await wait_for(lambda: asyncio.to_thread(
            lambda: primary.client().info("replication")["connected_slaves"] == 1),
            10, 0.05, "the replica to attach")
        srv = serve(primary)
        body = await readyz(srv)
        assert body["redis_persistence"] == {"aof": True, "rdb_schedule": "", "replicas": 1,
                                             "durable": True}, body
        assert body["warnings"] == [] and body["degraded"] == [], body
        assert await metric(srv, "bff_redis_durable") == 1
        assert not log_lines(srv, "WARNING", "Redis persistence")
        srv.stop()
        replica.stop(save=False)
        srv = serve(primary)
        body = await readyz(srv)
        assert body["warnings"] == ["Redis has no replica: a lost node takes the data with it"]
        assert len(log_lines(srv, "WARNING", "Redis has no replica")) == 1
        figures("Redis persistence at start: AOF + 1 replica -> durable, no warning; "
                "AOF without replica -> 1 warning (log and /readyz)")
    finally:
        if srv is not None:
            srv.stop()
        replica.close()
        primary.close()
