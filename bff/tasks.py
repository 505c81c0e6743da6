"""Cancelling tasks so that a cancellation is never lost.

On Python 3.11, ``asyncio.wait_for`` returns its result and drops a cancellation that
arrives in the same loop turn as that result (fixed in 3.12). redis-py writes every
command under ``wait_for`` when ``socket_timeout`` is set (ours is 5 s) and while it
connects, so a task cancelled during a write goes on as if nothing happened: in a loop of
commands 215 of 300 cancels were lost (redis-py 8.2.0; 191 on 7.4.1; none on Python 3.12).
A poller's loop cancelled so never ended, and neither did the shutdown waiting for it (a
test's fixture teardown held CI for 90 minutes). Both helpers here send the cancel again
until the task has ended: a dropped cancel is not dropped twice in a row for long, since
a task also awaits outside ``wait_for`` (reads, sleeps), where a cancel always lands.
"""

from __future__ import annotations

import asyncio
from typing import Any

# How long to wait for a cancelled task to end before cancelling it again.
NUDGE_SECONDS = 0.1
# A cancel nobody waits for is repeated this many times at NUDGE_SECONDS, then ever
# more slowly (up to _LONGEST_NUDGE apart) while the task has not ended.
_QUICK_REPEATS = 50
_LONGEST_NUDGE = 5.0


async def stop(task: asyncio.Task[Any] | None, *, nudge: float = NUDGE_SECONDS) -> None:
    """Cancel ``task`` and wait until it has ended, whatever it ended with."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=nudge)
    if not task.cancelled():
        task.exception()  # retrieved: a task that failed is not reported again at exit


def cancel(task: asyncio.Task[Any], *, nudge: float = NUDGE_SECONDS) -> None:
    """Cancel ``task`` without waiting for it; repeated while it has not ended."""
    if task.done():
        return
    task.cancel()
    asyncio.get_running_loop().call_later(nudge, _again, task, nudge, 1)


def _again(task: asyncio.Task[Any], nudge: float, repeats: int) -> None:
    if task.done():
        return
    task.cancel()
    wait = nudge if repeats < _QUICK_REPEATS else min(2 * nudge, _LONGEST_NUDGE)
    asyncio.get_running_loop().call_later(wait, _again, task, wait, repeats + 1)
