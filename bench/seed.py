"""A driver with past sessions at all three providers, as the BFF would know them.

Plugsurfing has a history API (the sandbox's ``/_control/seed`` is enough); Plugchoice and
the roaming platform do not, so the BFF lists their sessions from its own per-driver
index: for those, the sandbox seeds finished sessions and this module records them the
way the BFF records a session it started (the provider adapters read them back, the
records go through :class:`bff.store.records.SessionRecords`).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from bench.procs import SandboxProc
from bff.domain.model import Provider, SessionRef
from bff.providers.plugchoice.adapter import TOKEN_KEY
from bff.providers.registry import build_adapter
from bff.providers.roaming.mappers import connector_id
from bff.settings import Settings
from bff.store.records import SessionRecord, SessionRecords


async def seed_history(
    sandbox: SandboxProc, redis_url: str, driver: str, per_provider: dict[str, int]
) -> int:
    """Finished sessions of ``driver`` at each provider; how many in all."""
    settings = Settings()
    client = aioredis.Redis.from_url(redis_url)
    records = SessionRecords(client)
    total = 0
    try:
        n = per_provider.get("plugsurfing", 0)
        if n:
            sandbox.control("plugsurfing", "/_control/seed", {"userId": driver, "count": n})
            total += n
        n = per_provider.get("plugchoice", 0)
        if n:
            seeded: Any = sandbox.control("plugchoice", "/_control/seed", {"count": n})
            pc, pc_http = build_adapter(Provider.PLUGCHOICE, f"{sandbox.url}/plugchoice", settings)
            try:
                for token in seeded["tokens"]:
                    s = await pc.get_session(SessionRef(driver, "", {TOKEN_KEY: token}))
                    assert s is not None, "the sandbox seeded it"
                    await records.save(
                        SessionRecord(
                            provider=Provider.PLUGCHOICE, session_id=s.id, driver_id=driver,
                            charger_id=s.charger_id, connector_id=s.connector_id,
                            created_at=s.sort_time, extra={TOKEN_KEY: token},
                        )
                    )  # fmt: skip
                    total += 1
            finally:
                await pc_http.aclose()
        n = per_provider.get("roaming", 0)
        if n:
            made: Any = sandbox.control("roaming", "/_control/seed", {"user": driver, "count": n})
            rm, rm_http = build_adapter(Provider.ROAMING, f"{sandbox.url}/roaming", settings)
            try:
                for item in made["sessions"]:
                    s = await rm.get_session(SessionRef(driver, item["session_id"]))
                    assert s is not None, "the sandbox seeded it"
                    await records.save(
                        SessionRecord(
                            provider=Provider.ROAMING, session_id=s.id, driver_id=driver,
                            charger_id=item["evse_id"],
                            connector_id=connector_id(item["evse_id"], "1"),
                            created_at=s.sort_time,
                        )
                    )  # fmt: skip
                    total += 1
            finally:
                await rm_http.aclose()
    finally:
        await client.aclose()
    return total
