"""What a driver may do with a session now (seed 001's rules), as pure functions."""

from __future__ import annotations

from datetime import datetime

from bff.domain.model import ChargingSession, SessionStatus

ENDED = frozenset(
    {
        SessionStatus.STOPPED,
        SessionStatus.COMPLETED,
        SessionStatus.REFUNDED,
        SessionStatus.ABANDONED,
        SessionStatus.FAILED,
    }
)
FINAL = frozenset({SessionStatus.COMPLETED, SessionStatus.REFUNDED, SessionStatus.ABANDONED})


def start_timed_out(s: ChargingSession, now: datetime, start_timeout: float) -> bool:
    """STARTING for longer than the start timeout: failed for the driver, still watched."""
    since = s.created_at or s.started_at or s.observed_at
    return s.status is SessionStatus.STARTING and (now - since).total_seconds() > start_timeout


def can_stop(s: ChargingSession) -> bool:
    """Only remotely started sessions stop remotely; a failed stop may be retried."""
    return s.remote and (
        s.status in (SessionStatus.CHARGING, SessionStatus.STOPPING) or s.stop_failed
    )


def can_abandon(
    s: ChargingSession, now: datetime, start_timeout: float, stop_requested: datetime | None
) -> bool:
    """A session that never started (past the timeout) or never stopped (stop failed or
    ignored) can be left, so that nothing blocks a new start."""
    if s.status in ENDED:
        return False
    if start_timed_out(s, now, start_timeout):
        return True
    if s.stop_failed:
        return True
    return stop_requested is not None and s.status in (
        SessionStatus.CHARGING,
        SessionStatus.STOPPING,
    )
