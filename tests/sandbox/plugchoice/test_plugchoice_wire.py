"""The Plugchoice simulator's wire against the BFF's client, over real HTTP.

The client calls every endpoint it has against the running sandbox server; each answer
must parse into the client's model, and every field the simulator sends must be one the
model declares (or one listed below as knowingly unread). The start body the client
sends must be one the simulator's own model declares, and every word the simulator can
send must be one the client's tables know.
"""

from __future__ import annotations

from bff.domain.model import Provider
from bff.providers.plugchoice import constants as client_words
from bff.providers.plugchoice.client import PlugchoiceClient
from bff.providers.plugchoice.schemas import (
    ChargerList,
    SessionData,
    SessionEnvelope,
    StartResponse,
)
from bff.providers.registry import build_adapter
from bff.sandbox.plugchoice import wire as sim_words
from bff.settings import Settings
from tests.sandbox.conftest import SandboxServer
from tests.sandbox.wire_check import ContractRun, WireLog, undeclared, until

UTRECHT = (52.0907, 5.1214)


async def test_every_client_endpoint_reads_the_simulator(sandbox_server: SandboxServer) -> None:
    adapter, http = build_adapter(Provider.PLUGCHOICE,
        f"{sandbox_server.url}/plugchoice", Settings(upstream_retries=0)
    )
    log = WireLog()
    log.attach(http)
    client: PlugchoiceClient = adapter.client
    run = ContractRun(client, log)
    try:
        near = await run.call("search_chargers", ChargerList, *UTRECHT, 1000, 10)
        await run.call("get_chargers", ChargerList, [c.public_code for c in near])

        started = await run.call("start_session", StartResponse, "UTR01", 1, "d@example.nl")
        token = started.session_token

        async def show() -> SessionData:
            envelope: SessionEnvelope = await run.call("show_session", SessionEnvelope, token)
            return envelope.data

        assert started.payment is not None and (await show()).status == "created"
        await run.call("confirm_session", SessionEnvelope, token)
        await until(show, lambda d: d.status == "charging" and bool(d.energy_kwh))
        await run.call("stop_session", SessionEnvelope, token)
        captured = await until(show, lambda d: d.status == "captured")
        assert captured.amount_captured and captured.captured_at is not None

        other = await run.call("start_session", StartResponse, "UTR04", 1)
        await run.call("cancel_session", SessionEnvelope, other.session_token)
    finally:
        await http.aclose()

    assert run.problems == []
    assert run.uncovered() == set()
    starts = [x for x in log.exchanges if x.method == "POST" and x.path.endswith("/sessions")]
    for x in starts:  # the simulator's own model declares what the client sends
        assert undeclared(sim_words.StartBody, x.request_json()) == []
    seen = {_data(x.json()).get("status") for x in log.exchanges if "/sessions" in x.path} - {None}
    assert seen <= set(client_words.SESSION_STATUS), seen


def _data(body: dict[str, object]) -> dict[str, object]:
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def test_every_word_the_simulator_sends_is_one_the_client_knows() -> None:
    assert set(sim_words.SESSION_WORDS) <= set(client_words.SESSION_STATUS)
    assert set(sim_words.SESSION_WORDS) <= set(client_words.PAYMENT_STATUS)
    assert {w.lower() for w in sim_words.CONNECTOR_WORDS} <= set(client_words.CONNECTOR_STATUS)
    assert sim_words.API_BASE == client_words.API_BASE
