"""Property tests of the reconciler over random orderings, duplicates and drops."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from bff.domain.model import ChargingSession, Energy
from bff.domain.model import SessionStatus as S
from bff.domain.reconcile import apply_driver_action, reconcile
from tests.live.support import at, session

# The lifecycle as the design states it, written out independently of the code under test.
ORDER = {S.STARTING: 0, S.CHARGING: 1, S.STOPPING: 1, S.FAILED: 1, S.STOPPED: 2, S.COMPLETED: 3}
ORDER[S.REFUNDED] = 4


def forward(a: S, b: S) -> bool:
    if a is b:
        return True
    if a is S.ABANDONED:
        return False
    if b is S.ABANDONED:
        return a not in (S.COMPLETED, S.REFUNDED)
    return ORDER[b] >= ORDER[a]


PROVIDER_STATES = [S.STARTING, S.CHARGING, S.STOPPING, S.FAILED, S.STOPPED, S.COMPLETED, S.REFUNDED]


@st.composite
def histories(draw: st.DrawFn, monotone: bool) -> list[ChargingSession]:
    """A session's true updates, oldest first: a walk the provider may take (``monotone``)
    or any words at all (a confused provider)."""
    n = draw(st.integers(1, 12))
    status = draw(st.sampled_from([S.STARTING, S.CHARGING]))
    wh, t, out = 0, 0.0, []
    for i in range(n):
        if i:
            options = [x for x in PROVIDER_STATES if not monotone or forward(status, x)]
            status = draw(st.sampled_from(options))
        wh += draw(st.integers(0, 5000))
        t += draw(st.integers(1, 600))
        out.append(session(status, t, wh=wh, word=f"{status.value}#{i}", cost_minor=wh // 10))
    return out


def run(deliveries: list[ChargingSession]) -> tuple[ChargingSession | None, list[ChargingSession]]:
    current: ChargingSession | None = None
    published: list[ChargingSession] = []
    for update in deliveries:
        new = reconcile(current, update)
        if new is not None:
            published.append(new)
            current = new
    return current, published


def assert_never_backwards(published: list[ChargingSession]) -> None:
    for before, after in pairwise(published):
        assert after.observed_at >= before.observed_at
        assert forward(before.status, after.status), (before.status, after.status)
        assert after != before  # nothing is published twice


@settings(max_examples=400, deadline=None)
@given(data=st.data(), history=histories(monotone=True))
def test_any_delivery_ends_at_the_newest_update(
    data: st.DataObject, history: list[ChargingSession]
) -> None:
    picks = data.draw(st.lists(st.integers(0, len(history) - 1), min_size=1, max_size=30))
    deliveries = [history[i] for i in picks]  # any order, duplicates, drops
    final, published = run(deliveries)
    newest = max(deliveries, key=lambda s: s.observed_at)
    assert final is not None
    assert final.status is newest.status
    assert final.provider_status == newest.provider_status
    assert final.observed_at == newest.observed_at
    assert final.energy == newest.energy
    assert_never_backwards(published)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), history=histories(monotone=False))
def test_a_confused_provider_still_never_shows_backwards(
    data: st.DataObject, history: list[ChargingSession]
) -> None:
    picks = data.draw(st.lists(st.integers(0, len(history) - 1), min_size=1, max_size=30))
    deliveries = [history[i] for i in picks]
    final, published = run(deliveries)
    newest = max(deliveries, key=lambda s: s.observed_at)
    assert final is not None
    assert final.observed_at == newest.observed_at
    assert final.provider_status == newest.provider_status  # the newest word always shows
    # ... and its status unless the lifecycle forbids the move from where we are.
    assert final.status is newest.status or not forward(final.status, newest.status)
    assert_never_backwards(published)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), history=histories(monotone=True))
def test_driver_actions_interleaved_never_go_backwards(
    data: st.DataObject, history: list[ChargingSession]
) -> None:
    picks = data.draw(
        st.lists(
            st.one_of(
                st.integers(0, len(history) - 1),
                st.tuples(st.sampled_from(["abandon", "stop_requested"]), st.integers(0, 7200)),
            ),
            min_size=1,
            max_size=30,
        )
    )
    current: ChargingSession | None = None
    published: list[ChargingSession] = []
    for pick in picks:
        if isinstance(pick, int):
            new = reconcile(current, history[pick])
        else:
            action, second = pick
            new = apply_driver_action(current, action, at(second))  # type: ignore[arg-type]
        if new is not None:
            published.append(new)
            current = new
    assert_never_backwards(published)
    if any(p.status is S.ABANDONED for p in published):
        assert current is not None and current.status is S.ABANDONED


def test_energy_of_a_dropped_update_never_reappears() -> None:
    a, b, c = (session(S.CHARGING, t, wh=w) for t, w in ((0, 0), (10, 100), (20, 200)))
    final, _ = run([c, b, a])
    assert final is not None and final.energy == Energy(200)
    assert run([a, c])[0] == run([a, c, b, replace(b)])[0]
