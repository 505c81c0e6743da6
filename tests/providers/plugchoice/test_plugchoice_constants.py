"""The Plugchoice status tables: one case per word (seed 002), unknown words included."""

from __future__ import annotations

import logging

import pytest

from bff.domain.model import ChargerStatus, PaymentStatus, SessionStatus
from bff.providers.plugchoice.constants import (
    SESSION_STATUS,
    map_connector_standard,
    map_connector_status,
    map_payment_status,
    map_session_status,
)

SEED_WORDS = (
    "created, authorized, starting, charging, stopping, settling, captured, no_charge, "
    "expired, failed, abandoned, capture_failed, requires_review, refunded, written_off"
).split(", ")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("created", SessionStatus.STARTING),
        ("authorized", SessionStatus.STARTING),
        ("starting", SessionStatus.STARTING),
        ("charging", SessionStatus.CHARGING),
        ("stopping", SessionStatus.STOPPING),
        ("settling", SessionStatus.STOPPED),
        ("captured", SessionStatus.COMPLETED),
        ("no_charge", SessionStatus.FAILED),
        ("expired", SessionStatus.FAILED),
        ("failed", SessionStatus.FAILED),
        ("abandoned", SessionStatus.ABANDONED),
        ("capture_failed", SessionStatus.COMPLETED),
        ("requires_review", SessionStatus.STOPPED),
        ("refunded", SessionStatus.REFUNDED),
        ("written_off", SessionStatus.COMPLETED),
    ],
)
def test_session_word(word: str, expected: SessionStatus) -> None:
    assert map_session_status(word) is expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("created", PaymentStatus.REQUIRES_ACTION),
        ("authorized", PaymentStatus.AUTHORIZED),
        ("starting", PaymentStatus.AUTHORIZED),
        ("charging", PaymentStatus.AUTHORIZED),
        ("stopping", PaymentStatus.AUTHORIZED),
        ("settling", PaymentStatus.PROCESSING),
        ("requires_review", PaymentStatus.PROCESSING),
        ("captured", PaymentStatus.PAID),
        ("capture_failed", PaymentStatus.FAILED),
        ("refunded", PaymentStatus.REFUNDED),
        ("written_off", PaymentStatus.WRITTEN_OFF),
        ("expired", PaymentStatus.NONE),
        ("failed", PaymentStatus.NONE),
        ("no_charge", PaymentStatus.NONE),
        ("abandoned", PaymentStatus.NONE),
    ],
)
def test_payment_word(word: str, expected: PaymentStatus) -> None:
    assert map_payment_status(word) is expected


def test_every_seed_word_is_in_the_table() -> None:
    assert set(SEED_WORDS) == set(SESSION_STATUS)


def test_unknown_session_word_is_failed_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bff.providers.plugchoice.constants"):
        assert map_session_status("teleported") is SessionStatus.FAILED
    assert "teleported" in caplog.text


def test_unknown_payment_word_is_none_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bff.providers.plugchoice.constants"):
        assert map_payment_status("teleported") is PaymentStatus.NONE
    assert "teleported" in caplog.text


def test_words_are_matched_without_case_or_padding() -> None:
    assert map_session_status(" Charging ") is SessionStatus.CHARGING
    assert map_payment_status("CAPTURED") is PaymentStatus.PAID


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Available", ChargerStatus.AVAILABLE),
        ("Preparing", ChargerStatus.OCCUPIED),
        ("Charging", ChargerStatus.OCCUPIED),
        ("SuspendedEV", ChargerStatus.OCCUPIED),
        ("SuspendedEVSE", ChargerStatus.OCCUPIED),
        ("Finishing", ChargerStatus.OCCUPIED),
        ("Reserved", ChargerStatus.RESERVED),
        ("Faulted", ChargerStatus.OUT_OF_ORDER),
        ("Unavailable", ChargerStatus.OUT_OF_ORDER),
        (None, ChargerStatus.UNKNOWN),
        ("Exploded", ChargerStatus.UNKNOWN),
    ],
)
def test_connector_word(word: str | None, expected: ChargerStatus) -> None:
    assert map_connector_status(word) is expected


@pytest.mark.parametrize("word", ["Available", "Charging", None])
def test_offline_charger_connectors_are_offline(word: str | None) -> None:
    assert map_connector_status(word, online=False) is ChargerStatus.OFFLINE


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("IEC_62196_T2", "TYPE2"),
        ("IEC_62196_T2_COMBO", "CCS"),
        ("CHADEMO", "CHADEMO"),
        ("nacs", "NACS"),
        (None, "UNKNOWN"),
    ],
)
def test_connector_standard(word: str | None, expected: str) -> None:
    assert map_connector_standard(word) == expected
