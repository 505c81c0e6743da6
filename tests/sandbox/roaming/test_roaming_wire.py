"""The roaming simulator's wire against the BFF's platform client, over real HTTP.

The client calls every endpoint it has against the running sandbox server; each answer
must parse into the client's model, and every field the simulator sends must be one the
model declares. Every request body the client sends must be one the simulator's own
models declare; every webhook must pass the BFF's Standard Webhooks verifier (the two
sign and verify with code of their own); every word must be one the client knows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, SecretStr

from bff.domain.model import Provider
from bff.providers.registry import build_adapter
from bff.providers.roaming import constants as client_words
from bff.providers.roaming.client import RoamingClient
from bff.providers.roaming.mappers import charger_from_evse
from bff.providers.roaming.schemas import (
    ChargingPeriodWire,
    ChargingProfileRequest,
    ChargingProfileResponse,
    ClearProfileResponse,
    EvseList,
    ReceiptResponse,
    SessionStatusObject,
    StartSessionRequest,
    StartSessionResponse,
    StopSessionResponse,
    WebhookBody,
)
from bff.providers.roaming.webhooks import RoamingWebhook, parse_roaming_webhook
from bff.sandbox.roaming import wire as sim_words
from bff.sandbox.roaming.data import EVSES
from bff.settings import Settings
from tests.sandbox.conftest import SandboxServer
from tests.sandbox.wire_check import ContractRun, WireLog, undeclared, until

HELSINKI = (60.1699, 24.9384)
DRIVER = "driver-w"
#: Fields the simulator sends that the client knowingly does not read.
IGNORED = frozenset({"evses[].connectors[].last_updated"})  # the EVSE's own one is read
#: Which of the simulator's models reads each request the client sends.
REQUESTS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/start"): sim_words.StartBody,
    ("POST", "/stop"): sim_words.StopBody,
    ("POST", "/charging-profile"): sim_words.ProfileBody,
}


async def test_every_client_endpoint_reads_the_simulator(sandbox_server: SandboxServer) -> None:
    config = sandbox_server.config
    settings = Settings(roaming_jwt_secret=SecretStr(config.roaming_jwt_secret), upstream_retries=0)
    adapter, http = build_adapter(Provider.ROAMING, f"{sandbox_server.url}/roaming", settings)
    log = WireLog()
    log.attach(http)
    client: RoamingClient = adapter.client
    run = ContractRun(client, log, IGNORED)
    try:
        near = await run.call("search_evses", EvseList, *HELSINKI, 3000, 20)
        await run.call("get_evses", EvseList, [e.evse_id for e in near])
        smart = next(e for e in near if client_words.CAP_CHARGING_PROFILE in e.capabilities)
        # The connector type the adapter would name, from the client's own mapping.
        connector = charger_from_evse(smart).connectors[0]
        start = StartSessionRequest(
            evse_id=smart.evse_id, connector_type=connector.standard, battery_target_kwh=60.0
        )
        started = await run.call("start_session", StartSessionResponse, DRIVER, start)
        sid = started.session_id

        async def status() -> SessionStatusObject:
            found: SessionStatusObject = await run.call(
                "get_status", SessionStatusObject, DRIVER, sid
            )
            return found

        await until(status, lambda s: s.status == "active")
        profile = ChargingProfileRequest(
            max_charge_rate_kw=11.0,
            departure_time=datetime.now(UTC) + timedelta(hours=2),
            periods=[ChargingPeriodWire(start_period=0, limit=11000)],
        )
        await run.call("set_charging_profile", ChargingProfileResponse, DRIVER, sid, profile)
        await run.call("clear_charging_profile", ClearProfileResponse, DRIVER, sid)
        await run.call("stop_session", StopSessionResponse, DRIVER, sid)
        await until(status, lambda s: s.status == "completed")
        await run.call("get_receipt", ReceiptResponse, DRIVER, sid)

        hooks = await until(
            lambda: _hooks(sandbox_server, sid),
            lambda hs: "completed" in {h.status_word for h, _ in hs},
        )
        for hook, body in hooks:
            run.check(f"webhook {hook.status_word}", WebhookBody, body)
    finally:
        await http.aclose()

    assert run.problems == []
    assert run.uncovered() == set()
    for x in log.exchanges:  # the simulator's own models declare what the client sends
        model = next((m for (verb, end), m in REQUESTS.items()
                      if x.method == verb and x.path.endswith(end)), None)  # fmt: skip
        if model is not None:
            assert undeclared(model, x.request_json()) == [], x.path
    seen = {x.json().get("status") for x in log.exchanges if "/v1/sessions" in x.path}
    assert seen - {None} <= set(client_words.SESSION_STATUS), seen


async def _hooks(server: SandboxServer, session_id: str) -> list[tuple[RoamingWebhook, object]]:
    """The simulator's webhooks for a session, each verified by the BFF's own code."""
    secret, now = server.config.roaming_webhook_secret, datetime.now(UTC)
    read = [
        (parse_roaming_webhook(h.headers, h.body, secret, 300, now), json.loads(h.body))
        for h in server.hooks("roaming")
    ]
    return [(hook, body) for hook, body in read if hook.session.id == session_id]


def test_every_word_the_simulator_sends_is_one_the_client_knows() -> None:
    words = {sim_words.PENDING, sim_words.ACTIVE, sim_words.STOPPING, sim_words.COMPLETED}
    assert words | sim_words.FINAL_WORDS <= set(client_words.SESSION_STATUS)
    assert sim_words.NETWORK == client_words.NETWORK
    assert sim_words.CAP_CHARGING_PROFILE == client_words.CAP_CHARGING_PROFILE
    assert sim_words.CAP_REMOTE_START_STOP == client_words.CAP_REMOTE_START_STOP
    for evse in EVSES:  # a start names the connector as the client maps its OCPI type
        for c in evse.connectors:
            assert c.standard == client_words.connector_standard(c.ocpi_type), c.ocpi_type
