"""Authorization everywhere: an intruder tries every operation on another driver's
sessions (one per provider, live and from history) and learns nothing -- not even that
they exist: each answer equals the answer for an id that does not exist."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bff import ids
from bff.domain.model import Provider
from tests.e2e.flows import HELSINKI, UTRECHT, WARSAW, connector, sandbox, start, wait_status
from tests.figures import Figures
from tests.hardening.support import ws_message, ws_open
from tests.support import GraphQLClient, Server, wait_for

ID_MUTATIONS = {  # operation -> result field; each takes the session id as ``id``
    "StopSession": "stopSession",
    "AbandonSession": "abandonSession",
    "ConfirmPayment": "confirmPayment",
    "RetryPayment": "retryPayment",
    "ClearChargingProfile": "clearChargingProfile",
}


def unknown_like(session_id: str) -> str:
    """An id of the same provider that nobody has."""
    gid = ids.decode(session_id)
    return ids.encode(ids.SESSION, gid.provider, f"nope-{uuid.uuid4().hex[:12]}")


async def live_answer(server: Server, token: str, query: str, session_id: str) -> Any:
    ws = await ws_open(server, token)
    try:
        assert (await ws_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": query, "variables": {"id": session_id}}}))
        msg = await ws_message(ws)
    finally:
        await ws.close()
    return msg


async def start_roaming(client: GraphQLClient) -> str:
    """A live roaming session on whichever EVSE is free (other tests use some)."""
    results = []
    for evse in ("FI-VRT-E20002", "FI-VRT-E99999", "FI-VRT-E12346", "FI-VRT-E20001"):
        result = await start(client, await connector(client, HELSINKI, evse=evse))
        if result["__typename"] == "StartSessionSuccess":
            return str(result["session"]["id"])
        results.append(result)
    raise AssertionError(f"no roaming EVSE would start: {results}")


class Attempts:
    """Counts the intruder's attempts and the ones that got anything."""

    def __init__(self) -> None:
        self.made = 0
        self.succeeded: list[str] = []

    def check(self, what: str, ok: bool) -> None:
        self.made += 1
        if not ok:
            self.succeeded.append(what)


async def attack(server: Server, intruder: GraphQLClient, sid: str,
                 attempts: Attempts) -> None:
    """Every operation on ``sid``, each compared with the same on an unknown id."""
    other = unknown_like(sid)
    for op, field in ID_MUTATIONS.items():
        got = await intruder.op(op, id=sid)
        want = await intruder.op(op, id=other)
        attempts.check(f"{op} {sid}", got == want and got["data"][field]["__typename"]
                       == "NotFound")
    profile = {"maxChargeRateKw": 5.0}
    got = await intruder.op("SetChargingProfile", input={"sessionId": sid, **profile})
    want = await intruder.op("SetChargingProfile", input={"sessionId": other, **profile})
    attempts.check(f"SetChargingProfile {sid}",
                   got == want and got["data"]["setChargingProfile"]["__typename"] == "NotFound")
    got = await intruder.op("SessionDetail", id=sid)
    want = await intruder.op("SessionDetail", id=other)
    attempts.check(f"SessionDetail {sid}", got == want == {"data": {"node": None}})
    token = intruder.token or ""
    got = await live_answer(server, token, intruder.ops["LiveSession"], sid)
    want = await live_answer(server, token, intruder.ops["LiveSession"], other)
    errors = got["payload"] if got["type"] == "error" else got["payload"].get("errors")
    attempts.check(f"LiveSession {sid}", got == want and bool(errors)
                   and errors[0]["extensions"]["code"] == "NOT_FOUND")


async def test_cross_driver_attempts_all_fail(
    server: Server, client: GraphQLClient, driver: str, figures: Figures
) -> None:
    intruder = GraphQLClient(server, server.token(f"intruder-{uuid.uuid4().hex[:8]}"))
    attempts = Attempts()
    # The intruder watches their own sessions all along: none of the victim's may show.
    watch = await ws_open(server, intruder.token)
    assert (await ws_message(watch))["type"] == "connection_ack"
    await watch.send(json.dumps({"id": "w", "type": "subscribe",
                                 "payload": {"query": intruder.ops["MySessions"]}}))
    try:
        await sandbox(server, "plugsurfing", "/_control/seed", {"userId": driver, "count": 2})
        history = await client.data("SessionHistory", first=10)
        seeded = [e["node"]["id"] for e in history["viewer"]["sessions"]["edges"]]
        # One the BFF has never shown anyone (no record yet): the provider must say no.
        made = await sandbox(server, "plugsurfing", "/_control/seed",
                             {"userId": driver, "count": 1})
        unseen = [ids.encode(ids.SESSION, Provider.PLUGSURFING, made["sessionIds"][0])]
        key = f"victim-key-{uuid.uuid4().hex[:8]}"
        victim_connector = await connector(client, WARSAW, skip=12)
        live = [
            (await start(client, victim_connector, idempotencyKey=key))["session"]["id"],
            await start_roaming(client),
        ]
        pay = await start(client, await connector(client, UTRECHT, skip=3),
                          email="victim@example.com")
        assert pay["__typename"] == "PaymentRequired", pay
        live.append(pay["session"]["id"])
        await wait_status(client, live[0], "CHARGING")

        victims = [*live, *seeded, *unseen]
        assert {ids.decode(v).provider for v in victims} == set(Provider)
        for sid in victims:
            await attack(server, intruder, sid, attempts)

        # The intruder's history, every status and provider: none of the victim's.
        mine = await intruder.data("SessionHistory", first=100)
        leaked = {e["node"]["id"] for e in mine["viewer"]["sessions"]["edges"]} & set(victims)
        attempts.check("SessionHistory", not leaked)
        # The victim's idempotency key, stored with the victim's started session (a retry
        # of the victim's gets that session back), does not fetch it for the intruder: the
        # intruder's start with it is a start of their own.
        again = (await client.data("StartSession", input={
            "connectorId": victim_connector, "idempotencyKey": key}))["startSession"]
        assert again["__typename"] == "StartSessionSuccess", again
        assert again["session"]["id"] == live[0], "the key was not stored: no real attempt"
        # (A key shared between drivers would answer NotFound here, the victim's session
        # being another driver's: a tell that the key is in use.)
        idem = await start(intruder, await connector(intruder, WARSAW, skip=13),
                           idempotencyKey=key)
        attempts.check("StartSession idempotencyKey", idem["__typename"] == "StartSessionSuccess"
                       and idem["session"]["id"] not in victims)
        if idem["__typename"] == "StartSessionSuccess":
            await intruder.data("StopSession", id=idem["session"]["id"])

        # The victim's sessions change; the victim's own state is untouched by it all.
        for sid in live[:2]:
            node = (await client.data("SessionDetail", id=sid))["node"]
            assert node["status"] in ("STARTING", "CHARGING"), node
            await client.data("StopSession", id=sid)
        await wait_status(client, live[0], "COMPLETED", timeout=30)
        # Published on the victim's channel by now; the intruder's socket got nothing.
        got: list[dict[str, Any]] = []

        async def drained() -> bool:
            try:
                got.append(await ws_message(watch, timeout=0.3))
            except TimeoutError:
                return True
            return False

        await wait_for(drained, 10, 0, "the intruder's socket to be quiet")
        seen = {m["payload"]["data"]["viewerSessionsUpdated"]["id"]
                for m in got if m["type"] == "next"}
        attempts.check("MySessions", not (seen & set(victims)))
    finally:
        await watch.close()
        await intruder.aclose()

    figures(f"cross-driver attempts: {attempts.made}, succeeded: {len(attempts.succeeded)} "
            f"({len(victims)} sessions of {len(Provider)} providers; each answer equal to "
            f"an unknown id's)")
    assert attempts.succeeded == [], attempts.succeeded
