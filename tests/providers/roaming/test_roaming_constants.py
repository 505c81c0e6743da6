"""The roaming platform's words -> domain statuses, one case per word."""

from __future__ import annotations

import logging

import pytest

from bff.domain.model import ChargerStatus, SessionStatus
from bff.providers.roaming.constants import (
    connector_standard,
    map_evse_status,
    map_session_status,
)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("pending", SessionStatus.STARTING),
        ("active", SessionStatus.CHARGING),
        ("stopping", SessionStatus.STOPPING),
        ("completed", SessionStatus.COMPLETED),
        ("failed", SessionStatus.FAILED),
    ],
)
def test_session_word(word: str, expected: SessionStatus) -> None:
    assert map_session_status(word) is expected


def test_session_word_tolerates_case_and_space() -> None:
    assert map_session_status(" Active ") is SessionStatus.CHARGING


def test_unknown_session_word_is_failed_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bff.providers.roaming.constants"):
        assert map_session_status("suspended_ev") is SessionStatus.FAILED
    assert [r.status_word for r in caplog.records] == ["suspended_ev"]  # type: ignore[attr-defined]


def test_known_session_word_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bff.providers.roaming.constants"):
        map_session_status("completed")
    assert caplog.records == []


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("AVAILABLE", ChargerStatus.AVAILABLE),
        ("CHARGING", ChargerStatus.OCCUPIED),
        ("BLOCKED", ChargerStatus.OCCUPIED),
        ("RESERVED", ChargerStatus.RESERVED),
        ("OUTOFORDER", ChargerStatus.OUT_OF_ORDER),
        ("INOPERATIVE", ChargerStatus.OUT_OF_ORDER),
        ("PLANNED", ChargerStatus.OFFLINE),
        ("REMOVED", ChargerStatus.OFFLINE),
        ("UNKNOWN", ChargerStatus.UNKNOWN),
        ("SOMETHING_NEW", ChargerStatus.UNKNOWN),
    ],
)
def test_evse_status(word: str, expected: ChargerStatus) -> None:
    assert map_evse_status(word) is expected


@pytest.mark.parametrize(
    ("ocpi", "standard"),
    [
        ("IEC_62196_T2_COMBO", "CCS"),
        ("IEC_62196_T2", "TYPE2"),
        ("CHADEMO", "CHADEMO"),
        ("IEC_60309_2_three_32", "IEC_60309_2_three_32"),
    ],
)
def test_connector_standard(ocpi: str, standard: str) -> None:
    assert connector_standard(ocpi) == standard
