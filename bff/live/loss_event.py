"""One loss of Redis's data as a replica saw it, and what became of each live session.

States: ``restored`` (this replica's copy of the record was written back), ``recovered``
(it has an owner again: a record, or a snapshot with a driver), ``pending`` (no copy,
but its provider can say whose it is), ``unrecoverable`` (no copy, and no one to ask).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bff.live.livecopy import Key

#: Session ids named in a log line, at most.
MAX_NAMED = 50

STATES = ("restored", "recovered", "pending", "unrecoverable")
UNRESOLVED = ("pending", "unrecoverable")


@dataclass
class LossEvent:
    """One loss seen by this replica, and what became of each live session it knew."""

    detected_at: datetime
    intact_at: datetime | None  # this replica's last check that found the marker
    epoch: str  # the one that vanished
    states: dict[Key, str] = field(default_factory=dict)

    def tally(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {s: {} for s in STATES}
        for (p, _), state in self.states.items():
            out[state][p.value] = out[state].get(p.value, 0) + 1
        return out

    def totals(self) -> dict[str, int]:
        """Sessions per state, and ``lost`` (all of them)."""
        out = {s: sum(c.values()) for s, c in self.tally().items()}
        return {"lost": len(self.states), **out}

    def summary(self) -> str:
        t = self.tally()
        lost: dict[str, int] = {}
        for p, _ in self.states:
            lost[p.value] = lost.get(p.value, 0) + 1
        states = ", ".join(f"{s} {sum(t[s].values())}{by_provider(t[s])}" for s in STATES)
        return (
            f"Redis emptied under us (detected {self.detected_at.isoformat(timespec='seconds')}"
            f"): {len(self.states)} live sessions lost{by_provider(lost)}: {states}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "detected_at": self.detected_at.isoformat(),
            "intact_at": self.intact_at.isoformat() if self.intact_at else None,
            "lost": len(self.states),
            **self.tally(),
        }

    def named(self, state: str) -> list[str]:
        names = [f"{p.value}:{sid}" for (p, sid), s in self.states.items() if s == state]
        return names[:MAX_NAMED]


def by_provider(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    return " (" + ", ".join(f"{p} {n}" for p, n in sorted(counts.items())) + ")"
