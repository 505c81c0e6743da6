"""Idempotency keys belong to one driver, whatever characters the driver id and the key
hold (issue 12 item 8): driver ``cust`` with key ``k1:k2`` and driver ``cust:k1`` with key
``k2`` start two sessions, each their own."""

from __future__ import annotations

import uuid

from tests.e2e.flows import WARSAW, connector, start
from tests.figures import Figures
from tests.support import GraphQLClient, Server


async def test_keys_do_not_collide_across_drivers_with_colons(
    server: Server, figures: Figures
) -> None:
    cust = f"cust-{uuid.uuid4().hex[:8]}"
    first = GraphQLClient(server, server.token(cust))
    second = GraphQLClient(server, server.token(f"{cust}:k1"))
    try:
        a = await start(first, await connector(first, WARSAW, skip=13), idempotencyKey="k1:k2")
        assert a["__typename"] == "StartSessionSuccess", a
        b = await start(second, await connector(second, WARSAW, skip=14), idempotencyKey="k2")
        assert b["__typename"] == "StartSessionSuccess", b
        assert b["session"]["id"] != a["session"]["id"]
        # Each key still answers its own driver's first result.
        again = await start(second, await connector(second, WARSAW, skip=14),
                            idempotencyKey="k2")
        assert again["session"]["id"] == b["session"]["id"]
    finally:
        await first.aclose()
        await second.aclose()
    figures("idempotency keys: driver 'cust' + key 'k1:k2' and driver 'cust:k1' + key 'k2' "
            "started 2 distinct sessions (was: the second got NotFound)")
