"""Driver actions through GraphQL against a running server with the sandboxes (issue 4)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import redis.asyncio as aioredis

from bff.domain.model import Provider
from bff.store import keys
from tests.conftest import REDIS_URL
from tests.e2e.flows import (
    ERRORS,
    HELSINKI,
    UTRECHT,
    WARSAW,
    connector,
    detail,
    sandbox,
    start,
    stop,
    wait_status,
)
from tests.support import GraphQLClient, Server, wait_for

#: The sandbox's request count key of Plugsurfing's start (``/_control/stats``).
START_ROUTE = "POST /drive/v1/users/{user_id}/sessions/start"


async def test_successful_session_from_start_to_receipt(client: GraphQLClient) -> None:
    conn = await connector(client, WARSAW)
    started = await start(client, conn)
    assert started["__typename"] == "StartSessionSuccess", started
    sid = started["session"]["id"]
    assert started["session"]["provider"] == "PLUGSURFING"
    assert started["session"]["status"] in ("STARTING", "CHARGING")
    charging = await wait_status(client, sid, "CHARGING",
                                 where=lambda n: (n["energy"] or {}).get("wattHours", 0) > 0)
    assert charging["canStop"] and not charging["canAbandon"]
    more = await wait_status(
        client, sid, "CHARGING",
        where=lambda n: n["energy"]["wattHours"] > charging["energy"]["wattHours"],
    )
    assert more["cost"] is None or more["cost"]["estimated"]
    stopped = await client.data("StopSession", id=sid)
    assert stopped["stopSession"]["__typename"] == "StopSessionSuccess"
    done = await wait_status(client, sid, "COMPLETED", timeout=30)
    assert done["providerStatus"] == "COMPLETE"
    assert done["cost"]["total"]["amountMinor"] > 0 and not done["cost"]["estimated"]
    assert done["cost"]["total"]["formatted"].startswith(done["cost"]["total"]["currency"])
    assert done["receipt"]["available"] and done["receipt"]["url"]
    assert done["endedAt"] and done["durationSeconds"] is not None
    assert not done["canStop"] and not done["canAbandon"]
    again = (await client.data("StopSession", id=sid))["stopSession"]
    assert again["__typename"] == "SessionNotStoppable", again
    assert again["session"] == {"id": sid, "status": "COMPLETED"}
    assert again["message"] == "this session has already ended (COMPLETED)"


async def test_start_hangs_then_driver_abandons_and_starts_again(client: GraphQLClient) -> None:
    conn = await connector(client, ERRORS, evse="DE*DRV*E6mayTt")
    sid = (await start(client, conn))["session"]["id"]
    node = await wait_status(client, sid, "STARTING")
    assert node["providerStatus"] in ("CREATED", "WAITING_TO_START")
    early = await client.data("AbandonSession", id=sid)
    assert early["abandonSession"]["__typename"] == "SessionNotAbandonable"
    # Past the start timeout (3 s in tests) the driver may leave it.
    await wait_status(client, sid, "STARTING", where=lambda n: n["canAbandon"], timeout=15)
    left = await client.data("AbandonSession", id=sid)
    assert left["abandonSession"]["__typename"] == "AbandonSessionSuccess"
    assert left["abandonSession"]["session"]["status"] == "ABANDONED"
    node = await detail(client, sid)
    assert node["status"] == "ABANDONED" and node["providerStatus"] == "WAITING_TO_START"
    other = await start(client, await connector(client, WARSAW, skip=1))
    assert other["__typename"] == "StartSessionSuccess"
    await stop(client, other["session"]["id"])


async def test_stop_ignored_keeps_charging_and_can_be_abandoned(client: GraphQLClient) -> None:
    conn = await connector(client, ERRORS, evse="DE*DRV*E4JanRe")
    sid = (await start(client, conn))["session"]["id"]
    await wait_status(client, sid, "CHARGING")
    asked = await client.data("StopSession", id=sid)
    assert asked["stopSession"]["__typename"] == "StopSessionSuccess"
    node = await wait_status(client, sid, "CHARGING", where=lambda n: n["canAbandon"])
    assert node["providerStatus"] == "STARTED"
    left = await client.data("AbandonSession", id=sid)
    assert left["abandonSession"]["session"]["status"] == "ABANDONED"
    assert not left["abandonSession"]["session"]["canStop"]


async def test_start_fails(client: GraphQLClient) -> None:
    conn = await connector(client, ERRORS, evse="DE*DRV*E9svnVs")
    sid = (await start(client, conn))["session"]["id"]
    node = await wait_status(client, sid, "FAILED")
    assert node["providerStatus"] == "FAILED" and not node["canStop"]
    # Nothing blocks a new start elsewhere.
    other = await start(client, await connector(client, WARSAW, skip=2))
    assert other["__typename"] == "StartSessionSuccess"
    await stop(client, other["session"]["id"])


async def test_stop_fails_can_be_retried_and_abandoned(client: GraphQLClient) -> None:
    conn = await connector(client, ERRORS, evse="DE*DRV*E8vsnVn")
    sid = (await start(client, conn))["session"]["id"]
    await wait_status(client, sid, "CHARGING")
    await stop(client, sid)
    node = await wait_status(client, sid, "CHARGING", "STOPPING", where=lambda n: n["stopFailed"])
    assert node["providerStatus"] == "STOP_FAILED"
    assert node["canStop"] and node["canAbandon"]
    again = await client.data("StopSession", id=sid)
    assert again["stopSession"]["__typename"] == "StopSessionSuccess"
    left = await client.data("AbandonSession", id=sid)
    assert left["abandonSession"]["session"]["status"] == "ABANDONED"


async def test_connector_cooldown_for_everyone(live_server: Server,
                                               live_client: GraphQLClient) -> None:
    server, client = live_server, live_client
    conn = await connector(client, WARSAW, skip=3)
    first = await start(client, conn)
    assert first["__typename"] == "StartSessionSuccess"
    other = GraphQLClient(server, server.token("someone-else"))
    try:
        stats = await sandbox(server, "plugsurfing", "/_control/stats")
        blocked = await start(other, conn, retry=False)
        after = await sandbox(server, "plugsurfing", "/_control/stats")
    finally:
        await other.aclose()
    assert blocked["__typename"] == "ConnectorCoolingDown"
    assert 1 <= blocked["retryAfterSeconds"] <= 2
    assert stats[START_ROUTE] > 0, "the first start is counted"
    assert after[START_ROUTE] == stats[START_ROUTE], "provider not called"
    await stop(client, first["session"]["id"])


async def charging_in_warsaw(client: GraphQLClient, skip: int) -> tuple[str, str]:
    """(connector id, session id) of a Plugsurfing session charging there."""
    conn = await connector(client, WARSAW, skip=skip)
    first = await start(client, conn)
    assert first["__typename"] == "StartSessionSuccess", first
    sid = first["session"]["id"]
    await wait_status(client, sid, "CHARGING")
    return conn, sid


async def test_second_start_on_a_busy_plugsurfing_connector(server: Server,
                                                             client: GraphQLClient) -> None:
    conn, sid = await charging_in_warsaw(client, skip=15)
    other = GraphQLClient(server, server.token(f"other-{uuid.uuid4().hex[:8]}"))
    try:
        refused = await start(other, conn)  # waits out the first start's cooldown
    finally:
        await other.aclose()
    assert refused["__typename"] == "ConnectorUnavailable", refused
    assert refused["reason"] == "CONNECTOR_UNAVAILABLE"
    assert refused["message"] == "Someone is charging at this charger"
    node = await detail(client, sid)
    assert node["status"] == "CHARGING", "the first driver charges on, alone"
    await stop(client, sid)


async def test_a_refused_start_blocks_nobody(server: Server, client: GraphQLClient) -> None:
    conn, sid = await charging_in_warsaw(client, skip=16)
    b = GraphQLClient(server, server.token(f"b-{uuid.uuid4().hex[:8]}"))
    c = GraphQLClient(server, server.token(f"c-{uuid.uuid4().hex[:8]}"))
    try:
        refused = await start(b, conn)  # past the first start's cooldown
        assert refused["__typename"] == "ConnectorUnavailable", refused
        # At once, another driver: asked of the provider again, not ConnectorCoolingDown
        # (a refusal used to block the connector for the cooldown, 2 s here, 60 s live).
        before = (await sandbox(server, "plugsurfing", "/_control/stats"))[START_ROUTE]
        again = await start(c, conn, retry=False)
        after = (await sandbox(server, "plugsurfing", "/_control/stats"))[START_ROUTE]
        assert again["__typename"] == "ConnectorUnavailable", again
        assert after == before + 1
        # The first driver leaves; the next one starts at once.
        await stop(client, sid)
        await wait_status(client, sid, "STOPPED", "COMPLETED")
        mine = await start(c, conn, retry=False)
        assert mine["__typename"] == "StartSessionSuccess", mine
        await stop(c, mine["session"]["id"])
    finally:
        await b.aclose()
        await c.aclose()


async def test_an_app_reads_any_error_as_a_user_error(client: GraphQLClient) -> None:
    """``... on UserError { message }``: an app written today reads tomorrow's errors."""
    generic = """mutation Generic($id: ID!, $input: StartSessionInput!) {
      stopSession(id: $id) { __typename ... on UserError { message } }
      startSession(input: $input) { __typename ... on UserError { message } }
    }"""
    r = await client.execute(generic, {"id": "garbage", "input": {"connectorId": "garbage"}})
    assert r.get("errors") is None, r
    assert r["data"] == {
        "stopSession": {"__typename": "InvalidInput", "message": "id is not a valid ID"},
        "startSession": {"__typename": "InvalidInput",
                         "message": "connectorId is not a valid ID"},
    }


async def test_idempotent_retry_returns_the_first_result(client: GraphQLClient) -> None:
    conn = await connector(client, WARSAW, skip=4)
    a = await start(client, conn, idempotencyKey="tap-1")
    b = await start(client, conn, idempotencyKey="tap-1")
    assert a["__typename"] == b["__typename"] == "StartSessionSuccess"
    assert a["session"]["id"] == b["session"]["id"]
    await stop(client, a["session"]["id"])


async def test_charger_without_remote_start(client: GraphQLClient) -> None:
    conn = await connector(client, WARSAW, remote=False)
    result = await start(client, conn)
    assert result["__typename"] == "ChargerNotRemoteCapable" and result["message"]


async def test_two_sessions_at_once(client: GraphQLClient) -> None:
    a = await start(client, await connector(client, WARSAW, skip=5))
    b = await start(client, await connector(client, HELSINKI, evse="FI-VRT-E20002"))
    assert a["__typename"] == b["__typename"] == "StartSessionSuccess", (a, b)
    await wait_status(client, a["session"]["id"], "CHARGING")
    await wait_status(client, b["session"]["id"], "CHARGING")
    history = await client.data("SessionHistory", first=10, filter={"statuses": ["CHARGING"]})
    ids = {e["node"]["id"] for e in history["viewer"]["sessions"]["edges"]}
    assert {a["session"]["id"], b["session"]["id"]} <= ids
    for s in (a, b):
        await stop(client, s["session"]["id"])


async def plugchoice_start(client: GraphQLClient, skip: int = 0) -> dict[str, Any]:
    conn = await connector(client, UTRECHT, skip=skip)
    result = await start(client, conn, email="driver@example.com")
    assert result["__typename"] == "PaymentRequired", result
    return result


async def test_plugchoice_pay_then_confirm(client: GraphQLClient) -> None:
    pay = await plugchoice_start(client)
    assert pay["clientSecret"] and pay["publishableKey"]
    assert pay["amountAuthorized"]["amountMinor"] > 0
    assert pay["amountAuthorized"]["currency"] == "EUR"
    sid = pay["session"]["id"]
    confirmed = await client.data("ConfirmPayment", id=sid)
    assert confirmed["confirmPayment"]["__typename"] == "ConfirmPaymentSuccess"
    node = await wait_status(client, sid, "CHARGING", timeout=30)
    assert node["payment"]["status"] == "AUTHORIZED"
    await stop(client, sid)
    done = await wait_status(client, sid, "COMPLETED", timeout=40)
    assert done["payment"]["captured"]["amountMinor"] > 0
    assert done["cost"]["vatPercent"] and not done["cost"]["estimated"]


async def test_plugchoice_confirm_rate_limit_and_expired_token(client: GraphQLClient,
                                                              server: Server) -> None:
    pay = await plugchoice_start(client, skip=1)
    sid = pay["session"]["id"]

    limited: dict[str, Any] = {}
    for _ in range(40):
        r = (await client.data("ConfirmPayment", id=sid))["confirmPayment"]
        if r["__typename"] == "RateLimited":
            limited = r
            break
    assert limited, "confirm is limited to 10 a minute"
    assert limited["retryAfterSeconds"] >= 1

    node = await detail(client, sid)
    r = aioredis.Redis.from_url(REDIS_URL)
    key = keys.record(keys.session_key(Provider.PLUGCHOICE, node["providerSessionId"]))
    record = json.loads(await r.get(key))
    await r.aclose()
    await sandbox(server, "plugchoice", "/_control/expire", {"token": record["extra"]["token"]})

    async def not_found() -> dict[str, Any] | None:
        res = (await client.data("ConfirmPayment", id=sid))["confirmPayment"]
        return res if res["__typename"] == "NotFound" else None

    assert (await wait_for(not_found, 10, 0.3, "expired token"))["message"]


async def test_charging_profile_set_clear_and_invalid(client: GraphQLClient) -> None:
    conn = await connector(client, HELSINKI, evse="FI-VRT-E12345")
    started = await start(client, conn, batteryTargetKwh=60.0)
    assert started["__typename"] == "StartSessionSuccess", started
    sid = started["session"]["id"]
    await wait_status(client, sid, "STARTING", "CHARGING")

    async def profile(**input: Any) -> dict[str, Any]:
        data = await client.data("SetChargingProfile", input={"sessionId": sid, **input})
        result: dict[str, Any] = data["setChargingProfile"]
        return result

    cap = await profile(maxChargeRateKw=7.4)
    assert cap["__typename"] == "SetChargingProfileSuccess", cap
    assert cap["session"]["chargingProfile"]["maxChargeRateKw"] == 7.4
    custom = await profile(periods=[{"startSeconds": 0, "limitWatts": 11000},
                                    {"startSeconds": 3600, "limitWatts": 7400}])
    assert [p["limitWatts"] for p in custom["session"]["chargingProfile"]["periods"]] == [
        11000, 7400]
    for bad, field in (
        ({"maxChargeRateKw": -1.0}, "maxChargeRateKw"),
        ({"periods": [{"startSeconds": 60, "limitWatts": 1000}]}, "periods"),
        ({"periods": [{"startSeconds": 0, "limitWatts": 1000},
                      {"startSeconds": 0, "limitWatts": 900}]}, "periods"),
        ({"maxChargeRateKw": 11.0, "departureTime": "2001-01-01T00:00:00Z"}, "departureTime"),
    ):
        r = await profile(**bad)
        assert r["__typename"] == "InvalidInput" and r["field"] == field, (bad, r)
    node = await detail(client, sid)
    assert node["chargingProfile"]["periods"][1]["limitWatts"] == 7400, "unchanged"
    cleared = await client.data("ClearChargingProfile", id=sid)
    assert cleared["clearChargingProfile"]["__typename"] == "ClearChargingProfileSuccess"
    assert cleared["clearChargingProfile"]["session"]["chargingProfile"] is None
    await stop(client, sid)


async def test_profile_not_supported_elsewhere(client: GraphQLClient) -> None:
    started = await start(client, await connector(client, WARSAW, skip=6))
    sid = started["session"]["id"]
    r = await client.data("SetChargingProfile", input={"sessionId": sid, "maxChargeRateKw": 7.4})
    assert r["setChargingProfile"]["__typename"] == "NotSupported"
    c = await client.data("ClearChargingProfile", id=sid)
    assert c["clearChargingProfile"]["__typename"] == "NotSupported"
    await stop(client, sid)


async def test_retry_payment_on_debt(server: Server) -> None:
    debtor = GraphQLClient(server, server.token("debt-driver-1"))
    try:
        sid = (await start(debtor, await connector(debtor, WARSAW, skip=7)))["session"]["id"]
        await wait_status(debtor, sid, "CHARGING")
        await stop(debtor, sid)
        node = await wait_status(debtor, sid, "COMPLETED", timeout=30)
        assert node["payment"]["status"] == "DEBT"
        assert node["payment"]["outstanding"]["amountMinor"] > 0
        r = (await debtor.data("RetryPayment", id=sid))["retryPayment"]
        assert r["__typename"] == "RetryPaymentSuccess", r
        assert r["session"]["payment"]["status"] in ("PAID", "PROCESSING")
        again = (await debtor.data("RetryPayment", id=sid))["retryPayment"]
        assert again["__typename"] == "PaymentNotRetryable"
    finally:
        await debtor.aclose()


async def test_another_drivers_session_is_not_found(client: GraphQLClient,
                                                    server: Server) -> None:
    sid = (await start(client, await connector(client, WARSAW, skip=8)))["session"]["id"]
    intruder = GraphQLClient(server, server.token("intruder"))
    try:
        assert (await intruder.data("SessionDetail", id=sid))["node"] is None
        for op, key in (("StopSession", "stopSession"), ("AbandonSession", "abandonSession"),
                        ("ConfirmPayment", "confirmPayment"), ("RetryPayment", "retryPayment"),
                        ("ClearChargingProfile", "clearChargingProfile")):
            r = (await intruder.data(op, id=sid))[key]
            assert r["__typename"] == "NotFound", (op, r)
        r = (await intruder.data("SetChargingProfile",
                                 input={"sessionId": sid, "maxChargeRateKw": 5.0}))
        assert r["setChargingProfile"]["__typename"] == "NotFound"
    finally:
        await intruder.aclose()
    node = await detail(client, sid)
    assert node["status"] in ("STARTING", "CHARGING"), "unchanged by the intruder"
    await stop(client, sid)


async def test_plugsurfing_3ds_challenge_then_start_again(server: Server) -> None:
    driver = GraphQLClient(server, server.token("3ds-driver-1"))
    try:
        conn = await connector(driver, WARSAW, skip=9)
        challenge = await start(driver, conn)
        assert challenge["__typename"] == "PaymentRequired", challenge
        assert challenge["clientSecret"] and challenge["session"]["id"]
        # The app completes the card challenge with the provider's payment SDK...
        await sandbox(server, "plugsurfing", "/_control/3ds/complete",
                      {"clientSecret": challenge["clientSecret"]})
        # ...and starts again: the connector was not blocked by the challenged attempt.
        again = await start(driver, conn, retry=False)
        assert again["__typename"] == "StartSessionSuccess", again
        await stop(driver, again["session"]["id"])
    finally:
        await driver.aclose()
