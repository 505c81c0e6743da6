"""Cancelling tasks so that a cancellation is never lost.

On Python 3.11, ``asyncio.wait_for`` returns its result and drops a cancellation that
arrives in the same loop turn as that result (fixed in 3.12). redis-py writes every
command under ``wait_for`` when ``socket_timeout`` is set (ours is 5 s) and while it
connects, so a task cancelled during a write goes on as if nothing happened: in a loop of
commands 215 of 300 cancels were lost (redis-py 8.2.0; 191 on 7.4.1; none on Python 3.12).
A poller's loop cancelled so never ended, and neither did the shutdown waiting for it (a
test's fixture teardown held CI for 90 minutes). Both helpers here send the cancel again
until the task has ended.

When to send it again: the cancel is lost only in the loop turns between the wrapped
write finishing and ``wait_for`` resuming (two or three), so it is sent again on each of
the next few turns, then every :data:`NUDGE_SECONDS`. Resending only on a timer was not
enough: on a loaded machine the timer's turn kept landing in that window, and a loop of
Redis commands dropped up to 50 cancels in a row (5 s; over 10 s while two test suites
ran, which hung a test run's teardown); sent on consecutive turns, every one of 30 such
loops ended within 3 turns. A cleanup that awaits (a ``finally`` reading from Redis) can be
interrupted by a resent cancel; ours only drop local state or close without waiting.
"""

from __future__ import annotations

import asyncio
from typing import Any

# How long to wait for a cancelled task to end before cancelling it again.
NUDGE_SECONDS = 0.1
# The cancel is sent on this many consecutive loop turns before each wait of NUDGE_SECONDS.
TURNS = 4
# A cancel nobody waits for is repeated this many times at NUDGE_SECONDS, then ever
# more slowly (up to _LONGEST_NUDGE apart) while the task has not ended.
_QUICK_REPEATS = 50
_LONGEST_NUDGE = 5.0


async def stop(task: asyncio.Task[Any] | None, *, nudge: float = NUDGE_SECONDS) -> None:
    """Cancel ``task`` and wait until it has ended, whatever it ended with."""
    if task is None:
        return
    while not task.done():
        for _ in range(TURNS):
            task.cancel()
            await asyncio.sleep(0)
            if task.done():
                break
        else:
            await asyncio.wait({task}, timeout=nudge)
    if not task.cancelled():
        task.exception()  # retrieved: a task that failed is not reported again at exit


def cancel(task: asyncio.Task[Any], *, nudge: float = NUDGE_SECONDS) -> None:
    """Cancel ``task`` without waiting for it; repeated while it has not ended."""
    _again(task, nudge, 0)


def _again(task: asyncio.Task[Any], nudge: float, repeats: int) -> None:
    if task.done():
        return
    _turns(task, TURNS)
    wait = nudge if repeats < _QUICK_REPEATS else min(2 * nudge, _LONGEST_NUDGE)
    asyncio.get_running_loop().call_later(wait, _again, task, wait, repeats + 1)


def _turns(task: asyncio.Task[Any], left: int) -> None:
    """Cancel ``task`` in this loop turn and in each of the next ``left - 1``."""
    if task.done():
        return
    task.cancel()
    if left > 1:
        asyncio.get_running_loop().call_soon(_turns, task, left - 1)
