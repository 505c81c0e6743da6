"""The sandbox's chargers: the stage environment of seed ``001_*``.

Around 52.290056, 20.907028 (Warsaw, Bemowo) are chargers that start and stop normally,
a mix of AC and DC, one EVSE without remote start/stop and one out of order; one more
location lies just outside a 500 m search. At 52.334242, 20.899305 is the error location
with the four EVSEs the guide documents.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from enum import Enum

from bff.sandbox.plugsurfing.wire import REMOTE_CAPABILITY

CURRENCY = "PLN"
VAT_PERCENT = 23


class Behaviour(Enum):
    NORMAL = "normal"
    START_HANGS = "start_hangs"  # DE*DRV*E6mayTt: WAITING_TO_START forever
    STOP_IGNORED = "stop_ignored"  # DE*DRV*E4JanRe: a stop leaves it STARTED
    START_FAILS = "start_fails"  # DE*DRV*E9svnVs: WAITING_TO_START -> FAILED
    STOP_FAILS = "stop_fails"  # DE*DRV*E8vsnVn: WAITING_TO_STOP -> STOP_FAILED, every time


@dataclass(frozen=True)
class FxConnector:
    id: str
    label: str
    standard: str  # OCPI ConnectorType
    power_type: str
    max_power_kw: float


@dataclass(frozen=True)
class FxEvse:
    evse_id: str
    station_name: str
    connectors: tuple[FxConnector, ...]
    price_per_kwh_minor: int  # incl. VAT, PLN grosze
    capabilities: tuple[str, ...] = (REMOTE_CAPABILITY, "RFID_READER")
    base_status: str = "AVAILABLE"
    behaviour: Behaviour = Behaviour.NORMAL

    @property
    def remote(self) -> bool:
        return REMOTE_CAPABILITY in self.capabilities


@dataclass(frozen=True)
class FxLocation:
    id: str
    name: str
    latitude: float
    longitude: float
    street: str
    city: str
    postal_code: str
    evses: tuple[FxEvse, ...]


def connector_id(evse_id: str, label: str) -> str:
    """A stable long base64 id like the stage environment's (64 bytes -> 88 chars)."""
    return base64.b64encode(hashlib.sha512(f"{evse_id}#{label}".encode()).digest()).decode()


def _ac(evse_id: str, power_kw: float = 22.0, label: str = "1") -> FxConnector:
    phase = "AC_3_PHASE" if power_kw > 7.4 else "AC_1_PHASE"
    return FxConnector(connector_id(evse_id, label), label, "IEC_62196_T2", phase, power_kw)


def _dc(evse_id: str, standard: str, power_kw: float, label: str) -> FxConnector:
    return FxConnector(connector_id(evse_id, label), label, standard, "DC", power_kw)


# Connector ids quoted in the seed, kept so its curl examples work against the sandbox.
_SEED_OK_CONNECTOR = (
    "RfZBL8BkRQrTa//7TOadw3oiP51NudvmvpRC5WI3TsawwqypdT1Qwa3ck8cchZpEH2JGytmok239REYlPWleVQ=="
)
_SEED_HANG_CONNECTOR = (
    "RfZBL8BkRQrTa//7TOadw3oiP51NudvmvpRC5WI3TsYcqfRqeQ1Z/hmFFk/Lu+ZjAmz+8p9htX8Wmh0rzSdKGQ=="
)


def _error_evse(evse_id: str, behaviour: Behaviour, connector: str | None = None) -> FxEvse:
    ac = _ac(evse_id)
    if connector is not None:
        ac = FxConnector(connector, ac.label, ac.standard, ac.power_type, ac.max_power_kw)
    return FxEvse(evse_id, f"Drive API Test {evse_id[-7:]}", (ac,), 199, behaviour=behaviour)


LOCATIONS: tuple[FxLocation, ...] = (
    FxLocation(
        "PLS-WAW-BEM-01", "Bemowo Park & Charge", 52.290556, 20.907828,
        "ul. Powstańców Śląskich 126", "Warszawa", "01-466",
        (
            FxEvse(
                "PL*PLS*E1001A", "Bemowo DC 1",
                (
                    FxConnector(_SEED_OK_CONNECTOR, "1", "IEC_62196_T2_COMBO", "DC", 50.0),
                    _dc("PL*PLS*E1001A", "CHADEMO", 50.0, "2"),
                ),
                249,
            ),
            FxEvse("PL*PLS*E1002A", "Bemowo AC 2", (_ac("PL*PLS*E1002A"),), 189),
        ),
    ),
    FxLocation(
        "PLS-WAW-BEM-02", "Galeria Bemowo", 52.292256, 20.905028,
        "ul. Powstańców Śląskich 126", "Warszawa", "01-466",
        (
            FxEvse("PL*PLS*E2001A", "Galeria AC 1", (_ac("PL*PLS*E2001A", 11.0),), 179),
            # Local start only (RFID): remote start must be refused.
            FxEvse(
                "PL*PLS*E2002A", "Galeria AC 2", (_ac("PL*PLS*E2002A"),), 179,
                capabilities=("RFID_READER",),
            ),
        ),
    ),
    FxLocation(
        "PLS-WAW-BEM-03", "Fort Bema Hub", 52.287056, 20.910028,
        "ul. Powązkowska 90", "Warszawa", "01-728",
        (
            FxEvse(
                "PL*PLS*E3001A", "Fort Bema HPC 1",
                (_dc("PL*PLS*E3001A", "IEC_62196_T2_COMBO", 150.0, "1"),), 299,
            ),
            FxEvse(
                "PL*PLS*E3002A", "Fort Bema AC 2", (_ac("PL*PLS*E3002A"),), 189,
                base_status="OUTOFORDER",
            ),
        ),
    ),
    FxLocation(  # about 1.1 km north: outside a 500 m search
        "PLS-WAW-BEM-04", "Lotnisko Bemowo", 52.300056, 20.907028,
        "ul. Księżycowa 1", "Warszawa", "01-934",
        (FxEvse("PL*PLS*E4001A", "Lotnisko AC 1", (_ac("PL*PLS*E4001A", 7.4),), 169),),
    ),
    FxLocation(
        "DRV-ERROR-01", "Drive API Error Location", 52.334242, 20.899305,
        "ul. Testowa 1", "Warszawa", "01-001",
        (
            _error_evse("DE*DRV*E6mayTt", Behaviour.START_HANGS, _SEED_HANG_CONNECTOR),
            _error_evse("DE*DRV*E4JanRe", Behaviour.STOP_IGNORED),
            _error_evse("DE*DRV*E9svnVs", Behaviour.START_FAILS),
            _error_evse("DE*DRV*E8vsnVn", Behaviour.STOP_FAILS),
        ),
    ),
)  # fmt: skip

EVSES: dict[str, tuple[FxLocation, FxEvse]] = {
    e.evse_id: (loc, e) for loc in LOCATIONS for e in loc.evses
}
CONNECTORS: dict[str, tuple[FxLocation, FxEvse, FxConnector]] = {
    c.id: (loc, e, c) for loc in LOCATIONS for e in loc.evses for c in e.connectors
}
