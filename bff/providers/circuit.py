"""A circuit breaker per provider (per process), so a dead provider is not hammered.

    CLOSED ──K failures in a row──▶ OPEN ──cool-off──▶ HALF_OPEN ──trial ok──▶ CLOSED
                                      ▲                    │
                                      └────trial failed────┘

While OPEN every call fails at once with ``ProviderUnavailable`` and nothing is sent;
HALF_OPEN lets one trial call through (the others still fail fast). A failure is the
provider not answering usefully: a timeout, a connection error or a 5xx. A 4xx is an
answer (the provider is alive); a 429 counts neither way.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """See the module docstring; ``failure_threshold`` < 1 disables it."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        open_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self.clock = clock
        self.failures = 0  # in a row
        self.opened = 0  # times it opened, for tests and operators
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is in flight

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._trial or self.clock() - self._opened_at >= self.open_seconds:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def allow(self) -> bool:
        """May a call go out now? In HALF_OPEN, the first caller is the trial."""
        if self.failure_threshold < 1:
            return True
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        if self._opened_at is not None:
            log.info("circuit closed", extra={"provider": self.name})
        self.failures = 0
        self._opened_at = None
        self._trial = False

    def failure(self) -> None:
        self.failures += 1
        if self._trial or (self._opened_at is None and 0 < self.failure_threshold <= self.failures):
            if not self._trial:
                self.opened += 1
                log.warning(
                    "circuit open", extra={"provider": self.name, "failures": self.failures}
                )
            self._opened_at = self.clock()
            self._trial = False

    def abandoned(self) -> None:
        """The call ended without a verdict (cancelled, or a 429): a trial may go again."""
        self._trial = False
