"""Garbage-collector settings for a server that holds thousands of sockets.

CPython's cyclic collector scans every tracked object it holds in the generation being
collected. A worker with thousands of websockets holds hundreds of thousands of
long-lived objects (a few hundred per socket), and with the default thresholds
(700, 10, 10) the objects of each in-flight delivery that survive a young collection
pile up in the oldest generation until a full collection scans everything: measured at
1,000 subscribers, about half of the CPU of a delivery went to the collector, in pauses of
up to 0.7 s (see BENCHMARKS.md).

So: everything alive once the app has started (modules, the schema, settings, clients)
is frozen out of the collector's sight; young collections run ~70 times less often, so
that the short-lived objects of a delivery die before any collection sees them and are
freed by reference counting alone; and full collections, which scan every socket's
objects (over a second at 5,000 sockets), wait for 100 middle ones instead of 10.
Cycles are still collected.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Allocations (minus deallocations) between young collections; CPython's default is 700.
GEN0_THRESHOLD = 50_000
#: Young collections between middle ones, and middle ones between full ones (CPython:
#: 10 and 10; a full one also waits until a quarter of the old objects are new).
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 100


def tune_gc() -> None:
    """Freeze what exists now and space out collections (call once, after start-up)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)


def tuned_after_startup(app: ASGIApp) -> ASGIApp:
    """``app``, calling :func:`tune_gc` once its lifespan has started (for ``bff serve``
    only: a process that builds apps in tests keeps the collector's defaults)."""

    def wrapped(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: the app's call is handed back, so no frame of ours stays
        # suspended under each open websocket.
        if scope["type"] != "lifespan":
            return app(scope, receive, send)

        async def send_then_tune(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                tune_gc()

        return app(scope, receive, send_then_tune)

    return wrapped
