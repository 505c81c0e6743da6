"""How long and how often: one place for every bound of a benchmark run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    """Durations and sizes; ``quick`` shortens everything for development."""

    quick: bool = False
    repeats: int = 3
    #: Subscriber counts for the subscription benchmarks (empty: the default per mode).
    sizes: tuple[int, ...] = ()
    #: Subscription cases to run: "one" (one session), "own" (each its own session).
    modes: tuple[str, ...] = ("one", "own")

    def seconds(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def count(self, full: int, quick: int) -> int:
        return quick if self.quick else full
