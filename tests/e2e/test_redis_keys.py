"""What a running BFF writes to Redis: every key is one bff/store/keys.py lists, with the
lifetime it lists, and a driver's keys are where a client cannot choose to put them."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.crc import key_slot

from bff.store import keys
from tests.conftest import REDIS_URL
from tests.e2e.flows import HELSINKI, WARSAW, connector, start
from tests.figures import Figures
from tests.support import GraphQLClient, Server, wait_for


async def keyspace(r: aioredis.Redis) -> dict[str, int]:
    """Every key in the servers' database with its TTL in ms (-1: none)."""
    found: dict[str, int] = {}
    async for raw in r.scan_iter(count=1000):
        key = raw.decode()
        ttl = await r.pttl(key)
        if ttl != -2:  # expired meanwhile
            found[key] = ttl
    return found


async def test_every_key_a_server_writes_is_listed_with_its_lifetime(
    server: Server, client: GraphQLClient, driver: str, figures: Figures
) -> None:
    # A driver id and an idempotency key with the characters that could break a key.
    odd = GraphQLClient(server, server.token(f"{driver}:{{tag}}%"))
    try:
        idem = f"k:{{{uuid.uuid4().hex}}}"
        roaming = await start(odd, await connector(odd, HELSINKI), idempotencyKey=idem)
        assert roaming["__typename"] == "StartSessionSuccess", roaming
        plugsurfing = await start(client, await connector(client, WARSAW))
        assert plugsurfing["__typename"] == "StartSessionSuccess", plugsurfing
        query = f"# {uuid.uuid4()}\n{client.ops['NearbyChargers']}"
        digest = hashlib.sha256(query.encode()).hexdigest()
        ext: dict[str, Any] = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        variables = {"near": WARSAW, "radiusMeters": 500}
        registered = await client.http.post(
            "/graphql", json={"query": query, "extensions": ext, "variables": variables},
            headers=client.headers(),
        )
        assert registered.status_code == 200, registered.text
    finally:
        await odd.aclose()

    r = aioredis.Redis.from_url(REDIS_URL)
    try:
        # The roaming sandbox's webhooks, the pollers' leases and budgets come on their own.
        # (A driver's rate-limit bucket lives 60 ms at the tests' rate: not waited for.)
        wanted = {"snapshot", "record", "driver index", "driver snapshots", "live set",
                  "start idempotency", "persisted query", "epoch", "webhook seen",
                  "poll lease", "poll budget"}

        missing = set(wanted)

        async def all_kinds() -> dict[str, int] | None:
            found = await keyspace(r)
            missing.difference_update(getattr(keys.spec_of(k), "kind", None) for k in found)
            return None if missing else found

        found = await wait_for(all_kinds, 20, 0.1, "keys of every kind wanted")
        unknown = sorted(k for k in found if keys.spec_of(k) is None)
        wrong_ttl = sorted(
            f"{k} ttl {ttl}" for k, ttl in found.items()
            if (spec := keys.spec_of(k)) is not None and spec.expires is not None
            and spec.expires != (ttl != -1)  # PTTL 0: under 1 ms left, still expiring
        )
        figures(f"redis keys after the flows: {len(found)}, of "
                f"{len({keys.spec_of(k) for k in found})} kinds; unlisted {len(unknown)}, "
                f"with the wrong lifetime {len(wrong_ttl)}")
        assert unknown == [] and wrong_ttl == []

        # The odd driver's keys all live in one slot: theirs, whatever their idempotency key.
        mine = [k for k in found if "{driver:" in k and "%7Btag%7D" in k]
        assert {"start idempotency", "driver index", "driver snapshots"} <= {
            getattr(keys.spec_of(k), "kind", None) for k in mine}
        assert len({key_slot(k.encode()) for k in mine}) == 1, mine
    finally:
        await r.aclose()
