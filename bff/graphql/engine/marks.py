"""What orders the results of a subscription: carried on each value its resolver yields.

A subscription resolver yields values that may carry a :class:`Marked` as ``live_mark``:
which thing the value is a state of (a session), and where that state stands in the
thing's history. The engine keeps the newest result per key, never sends a subscriber an
older state after a newer one, nor the same state twice. A value without a mark is a
state of the subscription as a whole, ordered by arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Marked:
    """Which state of which thing a yielded value is."""

    key: str
    #: Orders the states of one key (e.g. the provider's time, then a version).
    mark: tuple[Any, ...]
    #: Our clock (epoch seconds) when this state last changed.
    changed_at: float
    #: A subscriber that joins later skips this state if it changed before it joined
    #: (e.g. a session that ended before somebody opened their session list).
    news_only: bool = False
    #: The W3C ``traceparent`` of the span that published this state, when traces are on.
    trace: str | None = None


def live_mark(value: Any) -> Marked | None:
    mark = getattr(value, "live_mark", None)
    return mark if isinstance(mark, Marked) else None
