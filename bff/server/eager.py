"""Run a coroutine at once, and give it a task only if it has to wait.

Python 3.12's eager tasks (``asyncio.eager_task_factory``) do this natively. Sending a
message to a websocket almost never waits (only when the client stops reading and the
transport's buffer is full), so a delivery to thousands of sockets costs no task and no
trip through the event loop per socket; a socket that does wait finishes in its own task
without holding up the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def run_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``coro`` until it finishes (None) or first waits: then a task finishes it.

    An exception raised before it waits propagates to the caller.
    """
    try:
        awaited = coro.send(None)
    except StopIteration:
        return None
    except BaseException:
        coro.close()
        raise
    return asyncio.ensure_future(_resume(coro, awaited))


async def _resume(coro: Coroutine[Any, Any, None], awaited: Any) -> None:
    """Drive ``coro`` on from where it waited on ``awaited``, as its task would have."""
    try:
        while True:
            try:
                if awaited is None:  # a bare yield (asyncio.sleep(0))
                    await asyncio.sleep(0)
                elif not awaited.done():
                    # Wait for it without taking its result: coro reads that itself.
                    await asyncio.wait([awaited])
            except BaseException as exc:  # cancelled: tell coro, as a task would
                try:
                    awaited = coro.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                awaited = coro.send(None)
            except StopIteration:
                return
    finally:
        coro.close()
