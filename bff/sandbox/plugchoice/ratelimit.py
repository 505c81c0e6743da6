"""Per-client sliding-window rate limits, like Laravel's ``throttle`` middleware.

The window is in simulated seconds, so a fast sandbox shortens it; ``Retry-After`` is in
real seconds because that is what the caller waits. Refused requests do not count.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from bff.sandbox.common import SandboxClock


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int = 0

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any window of ``window_sim_seconds``."""

    def __init__(self, clock: SandboxClock, window_sim_seconds: float = 60.0) -> None:
        self.clock = clock
        self.window_sim_seconds = window_sim_seconds
        self._hits: dict[tuple[str, ...], deque[float]] = {}

    def hit(self, key: tuple[str, ...], limit: int) -> Decision:
        now = time.monotonic()
        window = self.clock.real_seconds(self.window_sim_seconds)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            wait = hits[0] + window - now
            return Decision(False, limit, 0, max(1, math.ceil(wait)))
        hits.append(now)
        return Decision(True, limit, limit - len(hits))

    def reset(self) -> None:
        self._hits.clear()
