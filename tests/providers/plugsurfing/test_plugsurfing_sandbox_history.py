"""History paging and filters, and the sandbox's webhooks, against the sandbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from bff.domain.model import Provider, SessionFilter, SessionRef, SessionStatus
from bff.providers.base import StartRequest
from bff.providers.plugsurfing.adapter import PlugsurfingAdapter
from bff.providers.plugsurfing.webhooks import parse_plugsurfing_webhook
from bff.providers.registry import build_adapter
from bff.sandbox.common import SandboxConfig
from bff.sandbox.plugsurfing import PlugsurfingSandbox
from bff.settings import Settings
from tests.providers.plugsurfing.plugsurfing_support import SPEED, eventually


async def seed(control: httpx.AsyncClient, user: str, count: int) -> list[str]:
    response = await control.post("/_control/seed", json={"userId": user, "count": count})
    assert response.status_code == 200
    ids: list[str] = response.json()["sessionIds"]
    return ids


NO_FILTER = SessionFilter()


async def walk(
    adapter: PlugsurfingAdapter, user: str, limit: int, f: SessionFilter = NO_FILTER
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await adapter.list_sessions(user, cursor, limit, f)
        pages.append([s.id for s in page.sessions])
        times = [s.sort_time for s in page.sessions]
        assert times == sorted(times, reverse=True)  # newest first within the page
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) < 100, "paging does not end"


async def test_paging_walks_every_session_exactly_once(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    ids = await seed(control, "history-driver", 23)
    await seed(control, "someone-else", 4)
    pages = await walk(adapter, "history-driver", 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    flat = [sid for page in pages for sid in page]
    assert flat == ids  # newest first across pages, no repeats, nothing missing
    first = await adapter.list_sessions("history-driver", None, 5, SessionFilter())
    s = first.sessions[0]
    assert s.provider is Provider.PLUGSURFING and s.status is SessionStatus.COMPLETED
    assert s.receipt_available and s.cost is not None and s.energy is not None


async def test_exact_multiple_of_the_page_size_ends_cleanly(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    await seed(control, "driver-ten", 10)
    assert [len(p) for p in await walk(adapter, "driver-ten", 5)] == [5, 5]


async def test_date_and_status_filters(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    ids = await seed(control, "filter-driver", 12)
    everything = (await adapter.list_sessions("filter-driver", None, 100, SessionFilter())).sessions
    by_id = {s.id: s for s in everything}
    # Sessions 3..8 (newest first): after the 9th's start, up to and including the 3rd's.
    after = by_id[ids[8]].sort_time + timedelta(seconds=1)
    before = by_id[ids[2]].sort_time + timedelta(seconds=1)
    window = SessionFilter(started_after=after, started_before=before)
    pages = await walk(adapter, "filter-driver", 4, window)
    assert [sid for p in pages for sid in p] == ids[2:8]
    completed = SessionFilter(statuses=frozenset({SessionStatus.COMPLETED}))
    assert len([sid for p in await walk(adapter, "filter-driver", 5, completed) for sid in p]) == 12
    charging = SessionFilter(statuses=frozenset({SessionStatus.CHARGING}))
    assert (await adapter.list_sessions("filter-driver", None, 5, charging)).sessions == ()
    abandoned = SessionFilter(statuses=frozenset({SessionStatus.ABANDONED}))
    page = await adapter.list_sessions("filter-driver", None, 5, abandoned)
    assert page.sessions == () and page.next_cursor is None
    other = SessionFilter(providers=frozenset({Provider.ROAMING}))
    assert (await adapter.list_sessions("filter-driver", None, 5, other)).sessions == ()


async def test_live_sessions_appear_in_history_with_status_filter(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    await seed(control, "mixed-driver", 3)
    c = (await adapter.get_chargers(["PL*PLS*E1002A"]))["PL*PLS*E1002A"]
    live, _ = await adapter.start_session(StartRequest("mixed-driver", c, c.connectors[0].id))
    starting = SessionFilter(statuses=frozenset({SessionStatus.STARTING, SessionStatus.CHARGING}))
    page = await adapter.list_sessions("mixed-driver", None, 10, starting)
    assert [s.id for s in page.sessions] == [live.id]
    newest = (await adapter.list_sessions("mixed-driver", None, 1, SessionFilter())).sessions
    assert [s.id for s in newest] == [live.id]


async def test_sandbox_rejects_bad_history_parameters(
    control: httpx.AsyncClient, sandbox: PlugsurfingSandbox
) -> None:
    sandbox.config.plugsurfing_api_key = "k"
    headers = {"x-api-key": "k"}
    for params in ({"limit": "0"}, {"limit": "x"}, {"cursor": "%%%"}, {"from": "yesterday"}):
        response = await control.get("/drive/v1/users/u/sessions", params=params, headers=headers)
        assert response.status_code == 400, params


class Captured:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(204)


@pytest.fixture
def captured() -> Captured:
    return Captured()


@pytest.fixture
async def hooked(captured: Captured) -> AsyncIterator[PlugsurfingSandbox]:
    """A sandbox whose webhooks go to ``captured``, with its ticker running."""
    config = SandboxConfig(speed=SPEED, webhook_base_url="http://bff.test/", seed=3)
    async with httpx.AsyncClient(transport=httpx.MockTransport(captured)) as client:
        sb = PlugsurfingSandbox(config, client)
        await sb.start()
        yield sb
        await sb.aclose()


async def test_webhooks_at_each_transition(
    hooked: PlugsurfingSandbox, captured: Captured, settings: Settings
) -> None:
    transport = httpx.ASGITransport(app=hooked.app())
    adapter, client = build_adapter(
        Provider.PLUGSURFING, "http://sandbox.test", settings, transport
    )
    async with client:
        c = (await adapter.get_chargers(["PL*PLS*E1001A"]))["PL*PLS*E1001A"]
        session, _ = await adapter.start_session(StartRequest("hook-driver", c, c.connectors[1].id))
        r = SessionRef("hook-driver", session.id)
        await eventually(
            lambda: adapter.get_session(r),
            lambda s: s is not None and s.provider_status == "STARTED",
        )
        await adapter.stop_session(r)

        # No polling needed: the ticker moves the session on and sends the webhooks.
        async def events() -> list[str]:
            return [json.loads(q.content)["event"] for q in captured.requests]

        await eventually(events, lambda e: "SESSION_COMPLETE" in e)
    assert await events() == ["SESSION_STARTED", "SESSION_STOPPED", "SESSION_COMPLETE"]
    for request in captured.requests:
        assert str(request.url) == "http://bff.test/webhooks/plugsurfing"
        prompt = parse_plugsurfing_webhook(
            request.headers, request.content, hooked.config.plugsurfing_webhook_auth
        )
        assert (prompt.driver_id, prompt.session_id, prompt.known) == (
            "hook-driver",
            session.id,
            True,
        )
    stamps = [parse_plugsurfing_webhook(q.headers, q.content, "sandbox-webhook-auth").timestamp
              for q in captured.requests]  # fmt: skip
    assert stamps == sorted(stamps)


async def test_start_failure_webhook(
    hooked: PlugsurfingSandbox, captured: Captured, settings: Settings
) -> None:
    adapter, client = build_adapter(
        Provider.PLUGSURFING, "http://sandbox.test", settings, httpx.ASGITransport(app=hooked.app())
    )
    async with client:
        c = (await adapter.get_chargers(["DE*DRV*E9svnVs"]))["DE*DRV*E9svnVs"]
        await adapter.start_session(StartRequest("hook-driver", c, c.connectors[0].id))

        async def events() -> list[str]:
            return [json.loads(q.content)["event"] for q in captured.requests]

        assert await eventually(events, lambda e: len(e) > 0) == ["SESSION_START_FAILED"]
