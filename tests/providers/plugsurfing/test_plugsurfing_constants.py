"""The status tables: one case per Plugsurfing word (seed 001)."""

from __future__ import annotations

import logging

import pytest

from bff.domain.model import ChargerStatus, PaymentStatus, SessionStatus
from bff.errors import ProviderRejected
from bff.providers.plugsurfing.constants import (
    CANONICAL_EVENTS,
    EVENT_ALIASES,
    SESSION_STATUS,
    error_reason,
    map_balance_status,
    map_charger_status,
    map_connector_standard,
    map_session_status,
    words_for_statuses,
)


@pytest.mark.parametrize(
    ("word", "status", "stop_failed"),
    [
        ("CREATED", SessionStatus.STARTING, False),
        ("WAITING_TO_START", SessionStatus.STARTING, False),
        ("STARTED", SessionStatus.CHARGING, False),
        ("WAITING_TO_STOP", SessionStatus.STOPPING, False),
        ("STOP_FAILED", SessionStatus.CHARGING, True),
        ("STOPPED", SessionStatus.STOPPED, False),
        ("COMPLETE", SessionStatus.COMPLETED, False),
        ("FAILED", SessionStatus.FAILED, False),
        ("REFUNDED", SessionStatus.REFUNDED, False),
        ("UNKNOWN", SessionStatus.FAILED, False),
    ],
)
def test_session_status_word(word: str, status: SessionStatus, stop_failed: bool) -> None:
    assert map_session_status(word) == (status, stop_failed)


def test_every_documented_word_is_in_the_table() -> None:
    documented = {
        "CREATED", "WAITING_TO_START", "STARTED", "WAITING_TO_STOP", "STOPPED",
        "COMPLETE", "FAILED", "UNKNOWN", "STOP_FAILED", "REFUNDED",
    }  # fmt: skip
    assert set(SESSION_STATUS) == documented


@pytest.mark.parametrize("word", ["PAUSED", "", "started", "SUSPENDED_EV"])
def test_unknown_session_word_is_failed_and_logged(
    word: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bff.providers.plugsurfing.constants"):
        assert map_session_status(word) == (SessionStatus.FAILED, False)
    assert any(repr(word) in r.getMessage() for r in caplog.records)


def test_known_word_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        map_session_status("STARTED")
    assert not caplog.records


@pytest.mark.parametrize(
    ("word", "status"),
    [
        (None, PaymentStatus.NONE),
        ("PROCESSING", PaymentStatus.PROCESSING),
        ("PAID", PaymentStatus.PAID),
        ("DEBT", PaymentStatus.DEBT),
        ("REFUND", PaymentStatus.REFUNDED),
        ("CHARGEBACK", PaymentStatus.PROCESSING),
    ],
)
def test_balance_status(word: str | None, status: PaymentStatus) -> None:
    assert map_balance_status(word) == status


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("AVAILABLE", ChargerStatus.AVAILABLE),
        ("CHARGING", ChargerStatus.OCCUPIED),
        ("OCCUPIED", ChargerStatus.OCCUPIED),
        ("RESERVED", ChargerStatus.RESERVED),
        ("OUTOFORDER", ChargerStatus.OUT_OF_ORDER),
        ("BLOCKED", ChargerStatus.OUT_OF_ORDER),
        ("INOPERATIVE", ChargerStatus.OUT_OF_ORDER),
        ("OFFLINE", ChargerStatus.OFFLINE),
        ("REMOVED", ChargerStatus.OFFLINE),
        ("UNKNOWN", ChargerStatus.UNKNOWN),
        ("SOMETHING_NEW", ChargerStatus.UNKNOWN),
        (None, ChargerStatus.UNKNOWN),
    ],
)
def test_charger_status(word: str | None, status: ChargerStatus) -> None:
    assert map_charger_status(word) == status


@pytest.mark.parametrize(
    ("word", "standard"),
    [("IEC_62196_T2_COMBO", "CCS"), ("IEC_62196_T2", "TYPE2"), ("CHADEMO", "CHADEMO"),
     ("NEMA_5_20", "NEMA_5_20"), (None, "UNKNOWN")],
)  # fmt: skip
def test_connector_standard(word: str | None, standard: str) -> None:
    assert map_connector_standard(word) == standard


def test_events_canonical_and_aliases() -> None:
    assert "SESSION_COMPLETE" in CANONICAL_EVENTS
    assert {"SESSION_COMPLETED", "SESSION_FAILED", "SESSION_FEE_INCURRING"} == EVENT_ALIASES
    assert not CANONICAL_EVENTS & EVENT_ALIASES


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("CHARGER_NOT_REMOTE_CAPABLE", ProviderRejected.NOT_SUPPORTED),
        ("CONNECTOR_BLOCKED", ProviderRejected.CONNECTOR_UNAVAILABLE),
        ("CONNECTOR_UNAVAILABLE", ProviderRejected.CONNECTOR_UNAVAILABLE),
        ("CONNECTOR_NOT_FOUND", ProviderRejected.UNKNOWN_CONNECTOR),
        ("SOMETHING_ELSE", ProviderRejected.INVALID),
        (None, ProviderRejected.INVALID),
    ],
)
def test_error_reason(code: str | None, reason: str) -> None:
    assert error_reason(code) == reason


def test_history_filter_words() -> None:
    assert words_for_statuses(frozenset({SessionStatus.CHARGING})) == ["STARTED", "STOP_FAILED"]
    assert words_for_statuses(frozenset({SessionStatus.FAILED})) == ["FAILED", "UNKNOWN"]
    assert words_for_statuses(frozenset({SessionStatus.ABANDONED})) == []
