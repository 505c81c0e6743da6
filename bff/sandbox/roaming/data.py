"""The sandbox's Virta EVSEs around Helsinki (60.1699, 24.9384), in OCPI 2.2.1 shapes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bff.sandbox.common import distance_m
from bff.sandbox.roaming.wire import (
    CAP_CHARGING_PROFILE,
    CAP_REMOTE_START_STOP,
    CAP_RFID_READER,
    CONNECTOR_TYPE,
    NETWORK,
)

#: EVSE statuses in which the CPO refuses a start.
UNSTARTABLE = frozenset({"OUTOFORDER", "INOPERATIVE", "PLANNED", "REMOVED"})
HELSINKI = (60.1699, 24.9384)


@dataclass(frozen=True, slots=True)
class SimConnector:
    id: str
    ocpi_type: str  # OCPI ConnectorType
    power_type: str  # AC_1_PHASE, AC_3_PHASE, DC
    max_voltage: int
    max_amperage: int
    power_w: int

    @property
    def standard(self) -> str:
        """The ``connector_type`` a start names this connector by."""
        return CONNECTOR_TYPE.get(self.ocpi_type, self.ocpi_type)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "standard": self.ocpi_type,
            "format": "CABLE" if self.power_type == "DC" else "SOCKET",
            "power_type": self.power_type,
            "max_voltage": self.max_voltage,
            "max_amperage": self.max_amperage,
            "max_electric_power": self.power_w,
            "last_updated": "2026-01-01T00:00:00Z",
        }


@dataclass(frozen=True, slots=True)
class SimEvse:
    evse_id: str
    location_id: str
    location_name: str
    address: str
    postal_code: str
    latitude: str  # OCPI GeoLocation: decimal degrees as strings
    longitude: str
    connectors: tuple[SimConnector, ...]
    smart: bool
    price_per_kwh: Decimal
    status: str = "AVAILABLE"
    physical_reference: str | None = None
    fails_to_start: bool = False  # the CPO accepts the command, then the start fails
    currency: str = "EUR"
    city: str = "Helsinki"

    def connector_for(self, standard: str) -> SimConnector | None:
        wanted = standard.strip().upper()
        return next((c for c in self.connectors if c.standard == wanted), None)

    def distance_m(self, latitude: float, longitude: float) -> float:
        return distance_m(float(self.latitude), float(self.longitude), latitude, longitude)

    def to_json(self, status: str) -> dict[str, object]:
        capabilities = [CAP_REMOTE_START_STOP, CAP_RFID_READER]
        if self.smart:
            capabilities.append(CAP_CHARGING_PROFILE)
        return {
            "evse_id": self.evse_id,
            "uid": self.evse_id.rsplit("-", 1)[-1],
            "status": status,
            "capabilities": capabilities,
            "connectors": [c.to_json() for c in self.connectors],
            "coordinates": {"latitude": self.latitude, "longitude": self.longitude},
            "physical_reference": self.physical_reference,
            "location": {
                "id": self.location_id,
                "name": self.location_name,
                "address": self.address,
                "city": self.city,
                "postal_code": self.postal_code,
                "country": "FIN",
            },
            "tariff": {"currency": self.currency, "price_per_kwh": float(self.price_per_kwh)},
            "network": NETWORK,
            "last_updated": "2026-01-01T00:00:00Z",
        }


_CCS_50 = SimConnector("1", "IEC_62196_T2_COMBO", "DC", 500, 125, 50_000)
_CHADEMO_50 = SimConnector("2", "CHADEMO", "DC", 500, 125, 50_000)
_CCS_150 = SimConnector("1", "IEC_62196_T2_COMBO", "DC", 920, 200, 150_000)
_T2_22 = SimConnector("1", "IEC_62196_T2", "AC_3_PHASE", 230, 32, 22_000)
_T2_11 = SimConnector("1", "IEC_62196_T2", "AC_3_PHASE", 230, 16, 11_000)

EVSES: tuple[SimEvse, ...] = (
    SimEvse(
        "FI-VRT-E12345", "VRT-KAMPPI", "Kamppi P-Center", "Urho Kekkosen katu 1", "00100",
        "60.169300", "24.931700", (_CCS_50, _CHADEMO_50), smart=True,
        price_per_kwh=Decimal("0.35"), physical_reference="A1",
    ),
    SimEvse(
        "FI-VRT-E12346", "VRT-KAMPPI", "Kamppi P-Center", "Urho Kekkosen katu 1", "00100",
        "60.169320", "24.931760", (_T2_22,), smart=True,
        price_per_kwh=Decimal("0.29"), physical_reference="A2",
    ),
    SimEvse(
        "FI-VRT-E20001", "VRT-RAUTATIENTORI", "Rautatientori", "Rautatientori 1", "00100",
        "60.171000", "24.941400", (_T2_11,), smart=False,
        price_per_kwh=Decimal("0.25"),
    ),
    SimEvse(
        "FI-VRT-E20002", "VRT-ALEKSI", "Aleksanterinkatu Hub", "Aleksanterinkatu 52", "00100",
        "60.168500", "24.942000", (_CCS_150,), smart=True,
        price_per_kwh=Decimal("0.45"),
    ),
    SimEvse(
        "FI-VRT-E30001", "VRT-ESPLANADI", "Esplanadi", "Pohjoisesplanadi 19", "00100",
        "60.167600", "24.948500", (_T2_22,), smart=False,
        price_per_kwh=Decimal("0.29"), status="OUTOFORDER",
    ),
    SimEvse(
        "FI-VRT-E99999", "VRT-KAISANIEMI", "Kaisaniemi (faulty)", "Kaisaniemenkatu 2", "00100",
        "60.173800", "24.945000", (_T2_22,), smart=True,
        price_per_kwh=Decimal("0.29"), fails_to_start=True,
    ),
    SimEvse(
        "FI-VRT-E40001", "VRT-TAPIOLA", "Tapiola Centre", "Tapionaukio 1", "02100",
        "60.175600", "24.805000", (_CCS_50,), smart=False,
        price_per_kwh=Decimal("0.39"), city="Espoo",
    ),
)  # fmt: skip

EVSES_BY_ID: dict[str, SimEvse] = {e.evse_id: e for e in EVSES}
