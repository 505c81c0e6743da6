"""The Plugsurfing simulator's wire against the BFF's Drive API client, over real HTTP.

The client calls every endpoint it has against the running sandbox server; each answer
must parse into the client's model, and every field the simulator sends must be one the
model declares (or one listed below as knowingly unread). The webhooks the simulator
sends must pass the BFF's own webhook parser, and every word it can send must be one
the client's tables know.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from bff.domain.model import Provider
from bff.providers.plugsurfing import constants as client_words
from bff.providers.plugsurfing.client import PlugsurfingClient
from bff.providers.plugsurfing.schemas import (
    LocationsResponse,
    PaymentChallenge,
    ReceiptModel,
    SessionModel,
    SessionPageModel,
    StartResponse,
    TokenResponse,
    WebhookBody,
)
from bff.providers.plugsurfing.webhooks import PlugsurfingPrompt, parse_plugsurfing_webhook
from bff.providers.registry import build_adapter
from bff.sandbox.plugsurfing import wire as sim_words
from bff.settings import Settings
from tests.sandbox.conftest import SandboxServer
from tests.sandbox.wire_check import ContractRun, WireLog, until

#: Fields the simulator sends that the client knowingly does not read.
IGNORED = frozenset(
    {
        "locations[].distance",  # the BFF measures from the driver's point itself
        "locations[].evses[].connectors[].format",  # SOCKET/CABLE: not shown to drivers
        "message",  # the 402's explanation; the challenge's code says what to do
    }
)
#: Keycloak's token answer carries more than RFC 6749 asks for.
TOKEN_EXTRAS = {"refresh_expires_in", "not-before-policy", "scope"}
WARSAW = (52.290056, 20.907028)


async def test_every_client_endpoint_reads_the_simulator(sandbox_server: SandboxServer) -> None:
    config = sandbox_server.config
    settings = Settings(
        plugsurfing_client_id=config.plugsurfing_client_id,
        plugsurfing_client_secret=SecretStr(config.plugsurfing_client_secret),
        plugsurfing_api_key=None,
        upstream_retries=0,
    )
    adapter, http = build_adapter(Provider.PLUGSURFING, f"{sandbox_server.url}/plugsurfing", settings)
    log = WireLog()
    log.attach(http)
    client: PlugsurfingClient = adapter.client
    run = ContractRun(client, log, IGNORED, skip_paths=(sim_words.TOKEN_PATH,))
    try:
        near = await run.call(
            "geosearch_radius", LocationsResponse, *WARSAW, 500, 300,
            {"locationStatuses": ["AVAILABLE"]},
        )  # fmt: skip
        evses = [e for loc in near.locations for e in loc.evses if e.status == "AVAILABLE"]
        remote = [e for e in evses if client_words.REMOTE_CAPABILITY in e.capabilities]
        await run.call("get_evses", LocationsResponse, [e.evse_id for e in evses])
        connector, other = remote[0].connectors[0].id, remote[1].connectors[0].id

        started = await run.call("start_session", StartResponse, "driver-w", connector)
        challenge = await run.call("start_session", PaymentChallenge, "3ds-w", other)
        assert isinstance(challenge, PaymentChallenge) and challenge.client_secret

        async def session() -> SessionModel:
            found: SessionModel = await run.call(
                "get_session", SessionModel, "driver-w", started.session_id
            )
            return found

        await until(session, lambda s: s.session_status == "STARTED")
        await run.call("stop_session", SessionModel, "driver-w", started.session_id)
        done = await until(session, lambda s: s.session_status == "COMPLETE")
        assert done.price is not None and done.energy is not None

        await run.call("get_receipt", ReceiptModel, started.session_id)
        seeded = await http.post("/_control/seed", json={"userId": "debt-w", "count": 2})
        debt = seeded.json()["sessionIds"]
        page = await run.call("list_sessions", SessionPageModel, "debt-w", limit=1)
        assert page.next_cursor is not None
        now = datetime.now(UTC)
        await run.call(
            "list_sessions", SessionPageModel, "debt-w", limit=1, cursor=page.next_cursor,
            started_from=now - timedelta(days=1), started_to=now, statuses=["COMPLETE"],
        )  # fmt: skip
        await run.call("retry_payment", SessionModel, "debt-w", debt[0])

        tokens = [x for x in log.exchanges if x.path.endswith(sim_words.TOKEN_PATH)]
        assert tokens and tokens[0].status == 200
        run.check("token", TokenResponse, {
            k: v for k, v in tokens[0].json().items() if k not in TOKEN_EXTRAS
        })  # fmt: skip

        hooks = await until(
            lambda: _hooks(sandbox_server, started.session_id),
            lambda hs: "SESSION_COMPLETE" in {h.event for h, _ in hs},
        )
        for prompt, body in hooks:
            run.check(f"webhook {prompt.event}", WebhookBody, body)
            assert prompt.known and prompt.driver_id == "driver-w"
    finally:
        await http.aclose()

    assert run.problems == []
    assert run.uncovered() == set()
    words = {x.json().get("sessionStatus") for x in log.exchanges if x.status == 200} - {None}
    assert words <= set(client_words.SESSION_STATUS), words


async def _hooks(server: SandboxServer, session_id: str) -> list[tuple[PlugsurfingPrompt, Any]]:
    """The simulator's webhooks for a session, each read by the BFF's own parser."""
    auth = server.config.plugsurfing_webhook_auth
    read = [
        (parse_plugsurfing_webhook(h.headers, h.body, auth), json.loads(h.body))
        for h in server.hooks("plugsurfing")
    ]
    return [(p, body) for p, body in read if p.session_id == session_id]


def test_every_word_the_simulator_sends_is_one_the_client_knows() -> None:
    assert set(sim_words.SESSION_WORDS) <= set(client_words.SESSION_STATUS)
    assert set(sim_words.BALANCE_WORDS) <= set(client_words.BALANCE_STATUS)
    assert set(sim_words.EVENT_FOR_STATUS.values()) <= client_words.CANONICAL_EVENTS
    assert sim_words.TOKEN_PATH == client_words.TOKEN_PATH
    assert sim_words.REMOTE_CAPABILITY == client_words.REMOTE_CAPABILITY
