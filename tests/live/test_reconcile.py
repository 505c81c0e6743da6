"""Reconciliation rules, one by one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bff.domain.model import ChargingSession, Cost, Energy
from bff.domain.model import SessionStatus as S
from bff.domain.money import Money
from bff.domain.reconcile import apply_driver_action, can_move, is_material_change, reconcile
from tests.live.support import at, session


def step(current: ChargingSession | None, incoming: ChargingSession) -> ChargingSession:
    """The snapshot after ``incoming`` (the current one when nothing changed)."""
    new = reconcile(current, incoming)
    assert new is not None or current is not None
    return new if new is not None else current  # type: ignore[return-value]


def test_first_update_is_taken() -> None:
    s = session(S.STARTING, 0)
    assert reconcile(None, s) == s


def test_newer_wins_and_older_is_ignored() -> None:
    a, b = session(S.STARTING, 0), session(S.CHARGING, 10, wh=100)
    assert reconcile(a, b) == b
    assert reconcile(b, a) is None


def test_exact_duplicate_changes_nothing() -> None:
    s = session(S.CHARGING, 5, wh=10)
    assert reconcile(s, s) is None
    assert reconcile(s, replace(s)) is None


def test_same_timestamp_the_further_along_wins_in_either_order() -> None:
    a, b = session(S.CHARGING, 5, wh=10), session(S.STOPPED, 5, wh=10)
    assert step(step(None, a), b).status is S.STOPPED
    assert step(step(None, b), a).status is S.STOPPED


@pytest.mark.parametrize("ended", [S.STOPPED, S.COMPLETED, S.REFUNDED])
@pytest.mark.parametrize("back", [S.STARTING, S.CHARGING, S.STOPPING, S.FAILED])
def test_ended_never_goes_back_but_takes_the_newer_word(ended: S, back: S) -> None:
    current = session(ended, 10, wh=500)
    got = reconcile(current, session(back, 20, wh=600, word="LATE"))
    assert got is not None
    assert got.status is ended
    assert got.provider_status == "LATE"  # the provider's word still shows
    assert got.energy == Energy(600)
    assert got.observed_at == at(20)


def test_completed_may_become_refunded_but_not_back() -> None:
    c = session(S.COMPLETED, 10)
    r = step(c, session(S.REFUNDED, 20))
    assert r.status is S.REFUNDED
    assert step(r, session(S.COMPLETED, 30)).status is S.REFUNDED


def test_newer_provider_word_may_go_from_stopping_back_to_charging() -> None:
    stopping = session(S.STOPPING, 10, wh=100)
    assert step(stopping, session(S.CHARGING, 20, wh=200)).status is S.CHARGING


def test_charging_never_goes_back_to_starting() -> None:
    assert step(session(S.CHARGING, 10), session(S.STARTING, 20)).status is S.CHARGING


@pytest.mark.parametrize("later", [S.CHARGING, S.STOPPED, S.COMPLETED])
def test_failed_is_soft(later: S) -> None:
    failed = replace(session(S.FAILED, 10), failure_reason="start failed")
    got = step(failed, session(later, 20))
    assert got.status is later
    assert got.failure_reason is None


def test_failed_then_completed_is_a_successful_session() -> None:
    s = step(None, session(S.CHARGING, 0, wh=0))
    s = step(s, session(S.FAILED, 10, wh=100))
    s = step(s, session(S.COMPLETED, 20, wh=900, cost_minor=450))
    assert s.status is S.COMPLETED
    assert s.cost is not None and not s.cost.estimated


def test_abandoned_is_sticky_but_shows_the_provider_word() -> None:
    s = apply_driver_action(session(S.STARTING, 0), "abandon", at(5))
    assert s is not None and s.status is S.ABANDONED
    got = step(s, session(S.CHARGING, 30, wh=50, word="STARTED"))
    assert got.status is S.ABANDONED
    assert got.provider_status == "STARTED"
    assert got.energy == Energy(50)


def test_cannot_abandon_what_ended() -> None:
    for st in (S.STOPPED, S.COMPLETED, S.REFUNDED, S.ABANDONED):
        assert apply_driver_action(session(st, 0), "abandon", at(1)) is None
    assert apply_driver_action(None, "abandon", at(1)) is None


def test_driver_stop_then_newer_provider_word_wins() -> None:
    charging = session(S.CHARGING, 0, wh=10)
    stopping = apply_driver_action(charging, "stop_requested", at(5))
    assert stopping is not None and stopping.status is S.STOPPING
    assert stopping.observed_at == at(5)
    # The provider's answer from before the request is older: ignored.
    assert reconcile(stopping, session(S.CHARGING, 3, wh=20)) is None
    # The stop was ignored: the provider's newer word wins.
    assert step(stopping, session(S.CHARGING, 8, wh=30)).status is S.CHARGING


def test_stop_request_on_a_stop_failed_session_and_not_twice() -> None:
    failed_stop = replace(session(S.CHARGING, 0), stop_failed=True)
    s = apply_driver_action(failed_stop, "stop_requested", at(1))
    assert s is not None and s.status is S.STOPPING and not s.stop_failed
    assert apply_driver_action(s, "stop_requested", at(2)) is None
    assert apply_driver_action(session(S.STOPPED, 0), "stop_requested", at(1)) is None


def test_driver_action_never_moves_observed_at_back() -> None:
    s = apply_driver_action(session(S.CHARGING, 100), "stop_requested", at(50))
    assert s is not None and s.observed_at == at(100)


def test_power_is_derived_from_energy_over_time() -> None:
    a = session(S.CHARGING, 0, wh=1000)
    b = step(a, session(S.CHARGING, 60, wh=1250))  # 250 Wh in a minute: 15 kW
    assert b.power_kw == pytest.approx(15.0)
    c = step(b, session(S.CHARGING, 120, wh=1250))
    assert c.power_kw == 0.0


def test_provider_power_wins_and_no_power_once_ended() -> None:
    a = session(S.CHARGING, 0, wh=1000)
    b = step(a, replace(session(S.CHARGING, 60, wh=1250), power_kw=11.0))
    assert b.power_kw == 11.0
    assert step(b, session(S.STOPPED, 70, wh=1260)).power_kw is None


def test_cost_is_an_estimate_until_priced() -> None:
    a = step(None, session(S.CHARGING, 0, cost_minor=100))
    assert a.cost is not None and a.cost.estimated
    b = step(a, replace(session(S.STOPPED, 10), cost=Cost(Money(200, "EUR"))))
    assert b.cost is not None and b.cost.estimated and b.cost.total == Money(200, "EUR")
    c = step(b, session(S.COMPLETED, 20, cost_minor=250))
    assert c.cost is not None and not c.cost.estimated


def test_missing_fields_keep_what_we_knew() -> None:
    a = replace(session(S.CHARGING, 0, wh=10), charger_id="c1", started_at=at(-60))
    b = step(a, session(S.CHARGING, 10))
    assert (b.charger_id, b.started_at, b.energy) == ("c1", at(-60), Energy(10))


def test_lifecycle_order() -> None:
    assert can_move(S.STARTING, S.CHARGING)
    assert can_move(S.STOPPING, S.CHARGING)
    assert can_move(S.FAILED, S.COMPLETED)
    assert not can_move(S.STOPPED, S.FAILED)
    assert not can_move(S.ABANDONED, S.COMPLETED)
    assert not can_move(S.COMPLETED, S.ABANDONED)


def test_material_change_ignores_only_observed_at() -> None:
    a = session(S.CHARGING, 0, wh=10)
    assert not is_material_change(a, replace(a, observed_at=at(9)))
    assert is_material_change(a, replace(a, energy=Energy(11)))
    assert is_material_change(None, a)


def test_the_earliest_end_stays() -> None:
    # A provider without an end time (roaming) gives the moment it was seen ended: a later
    # poll of the same completed session must not move the end.
    done = replace(session(S.COMPLETED, 10), ended_at=at(10))
    polled = replace(session(S.COMPLETED, 40), ended_at=at(40))
    assert step(done, polled).ended_at == at(10)
    assert step(step(None, polled), replace(done, observed_at=at(50))).ended_at == at(10)
    assert step(done, replace(polled, ended_at=None)).ended_at == at(10)
