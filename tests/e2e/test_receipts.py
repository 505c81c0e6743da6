"""Receipts that open the same way for every provider, against `bff serve` and the
sandboxes (issue 14): a roaming session's end, duration and receipt after COMPLETED; the
BFF's own receipt document opens for its driver only, and not after its expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bff import ids
from bff.settings import Settings
from bff.usecases import receipts
from tests.e2e.flows import HELSINKI, UTRECHT, connector, start, wait_status
from tests.support import GraphQLClient, Server

RECEIPT = """query($id: ID!) { node(id: $id) { ... on ChargingSession {
  startedAt endedAt durationSeconds status
  receipt { available url expiresAt network chargerName evseId energy { wattHours }
            startedAt endedAt durationSeconds paymentStatus emailedTo
            cost { total { amountMinor formatted } } } } } }"""


def seconds_between(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


async def completed(client: GraphQLClient, sid: str) -> dict[str, Any]:
    await wait_status(client, sid, "COMPLETED", timeout=40)
    result = await client.execute(RECEIPT, {"id": sid})
    assert not result.get("errors"), result
    node: dict[str, Any] = result["data"]["node"]
    return node


async def test_roaming_session_ends_lasts_and_has_a_receipt_that_opens(
    server: Server, client: GraphQLClient, driver: str
) -> None:
    # Working EVSEs; one another test left charging answers ConnectorUnavailable.
    for evse_id in ("FI-VRT-E20001", "FI-VRT-E12346", "FI-VRT-E20002", "FI-VRT-E12345"):
        conn = await connector(client, HELSINKI, evse=evse_id)
        roam = await start(client, conn, batteryTargetKwh=0.2)
        if roam["__typename"] != "ConnectorUnavailable":
            break
    assert roam["__typename"] == "StartSessionSuccess", roam
    evse = ids.decode(conn).parts[0]
    sid = roam["session"]["id"]
    node = await completed(client, sid)

    # endedAt is set, and durationSeconds comes from the timestamps (not whole minutes).
    assert node["startedAt"] and node["endedAt"], node
    span = seconds_between(node["startedAt"], node["endedAt"])
    assert span > 0 and node["durationSeconds"] == int(span)
    r = node["receipt"]
    assert r["available"] and r["url"], "never available with url null"
    assert r["network"] == "Virta" and r["evseId"] == evse
    assert r["energy"]["wattHours"] == 200 and r["paymentStatus"] == "PAID"
    assert (r["startedAt"], r["endedAt"], r["durationSeconds"]) == (
        node["startedAt"], node["endedAt"], node["durationSeconds"])
    assert r["emailedTo"] is None
    assert r["url"].startswith(f"{server.url}/receipts/")
    expires = datetime.fromisoformat(r["expiresAt"])
    assert timedelta(seconds=800) < expires - datetime.now(UTC) <= timedelta(seconds=900)

    async with httpx.AsyncClient(timeout=10) as http:
        mine = await http.get(r["url"], headers=client.headers())
        assert mine.status_code == 200, mine.text
        assert mine.headers["content-type"].startswith("text/html")
        assert mine.headers["cache-control"] == "private, no-store"
        page = mine.text
        for shown in ("Virta", evse, "0.200 kWh", r["cost"]["total"]["formatted"],
                      "PAID"):
            assert shown in page, shown
        # As a provider's signed URL: an in-app browser opens it without a header.
        assert (await http.get(r["url"])).status_code == 200

        other = {"authorization": f"Bearer {server.token('someone-else')}"}
        theirs = await http.get(r["url"], headers=other)
        assert theirs.status_code == 403 and "another driver" in theirs.text

        payload, _, mac = r["url"].rpartition("/")[2].partition(".")
        forged = f"{server.url}/receipts/{payload}.{mac[:-2]}AA"
        assert (await http.get(forged)).status_code == 403
        for junk in ("nothing", "a.b", "%00.%ff", "x" * 2000, f"{payload}."):
            refused = await http.get(f"{server.url}/receipts/{junk}")
            assert refused.status_code == 404, (junk, refused.status_code)
            assert "no such receipt" in refused.text

        # A link made for this driver, expired a second ago: 410 with the reason.
        gid = ids.decode(sid)
        old = receipts.link(Settings(), driver, gid.provider, gid.key,
                            datetime.now(UTC) - timedelta(seconds=901))
        gone = await http.get(old.url.replace(Settings().own_url(), server.url))
        assert gone.status_code == 410 and "expired" in gone.text
        # The same link made for another driver: its signature does not hold.
        stolen = receipts.link(Settings(), "someone-else", gid.provider, gid.key,
                               datetime.now(UTC))
        wrong = await http.get(stolen.url.replace(Settings().own_url(), server.url))
        assert wrong.status_code == 403


async def test_plugchoice_receipt_says_where_it_was_emailed(client: GraphQLClient) -> None:
    conn = await connector(client, UTRECHT)
    pay = await start(client, conn, email="driver@example.com")
    assert pay["__typename"] == "PaymentRequired", pay
    sid = pay["session"]["id"]
    assert (await client.data("ConfirmPayment", id=sid))["confirmPayment"]["__typename"] == (
        "ConfirmPaymentSuccess")
    await wait_status(client, sid, "CHARGING", timeout=30)
    await client.data("StopSession", id=sid)
    r = (await completed(client, sid))["receipt"]
    assert r["available"] and r["url"] and r["emailedTo"] == "driver@example.com"
    async with httpx.AsyncClient(timeout=10) as http:
        page = await http.get(r["url"], headers=client.headers())
    assert page.status_code == 200 and "e-mailed to driver@example.com" in page.text
