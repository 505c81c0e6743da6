"""The simulator's ``/_control/seed`` with ``live``: sessions charging from now on, for
the poll benchmark (more live sessions than chargers, no webhook)."""

from __future__ import annotations

import httpx

from bff.domain.model import Provider, SessionRef, SessionStatus
from bff.providers.registry import build_adapter
from bff.settings import Settings
from tests.live.support import wait_for
from tests.sandbox.conftest import SandboxServer


async def test_seed_live_sessions_charge(sandbox_server: SandboxServer) -> None:
    base = f"{sandbox_server.url}/plugsurfing"
    async with httpx.AsyncClient(base_url=base) as control:
        r = await control.post("/_control/seed", json={"userId": "d9", "count": 30, "live": True})
    ids = r.json()["sessionIds"]
    assert len(ids) == 30
    adapter, http = build_adapter(Provider.PLUGSURFING, base, Settings())
    try:
        got = [await adapter.get_session(SessionRef("d9", sid)) for sid in ids]
        assert all(s is not None and s.status is SessionStatus.CHARGING for s in got)

        async def rising() -> bool:
            s = await adapter.get_session(SessionRef("d9", ids[0]))
            return s is not None and s.energy is not None and s.energy.watt_hours > 0

        await wait_for(rising, 5, "energy to rise")
    finally:
        await http.aclose()
    assert sandbox_server.hooks("plugsurfing") == []
