"""The sandbox's public chargers around Utrecht (52.0907, 5.1214) and their JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bff.sandbox.common import distance_m

UTRECHT = (52.0907, 5.1214)


@dataclass
class SimConnector:
    connector_id: int
    standard: str = "IEC_62196_T2"
    format: str = "Socket"
    power_type: str = "AC_3_PHASE"
    max_voltage: int = 230
    max_amperage: int = 32
    status: str | None = "Available"  # the OCPP status when no session runs on it
    rejects_start: bool = False  # the charger answers RemoteStartTransaction Rejected
    ev_draws_kw: float | None = None  # the car's own limit (0: a full battery)

    @property
    def power_kw(self) -> float:
        phases = 3 if self.power_type == "AC_3_PHASE" else 1
        return phases * self.max_voltage * self.max_amperage / 1000

    @property
    def delivered_kw(self) -> float:
        return self.power_kw if self.ev_draws_kw is None else min(self.ev_draws_kw, self.power_kw)


@dataclass
class SimCharger:
    public_code: str
    name: str
    latitude: float
    longitude: float
    street: str
    postal_code: str
    connectors: list[SimConnector]
    online: bool = True
    city: str = "Utrecht"
    currency: str = "EUR"
    price_per_kwh: int = 39  # minor units per kWh
    start_fee: int = 50  # minor units
    hold: int = 5000  # the pre-authorized amount, minor units
    evse_id: str | None = None  # eMI3, registered for some chargers only
    _by_id: dict[int, SimConnector] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {c.connector_id: c for c in self.connectors}

    def connector(self, connector_id: int) -> SimConnector | None:
        return self._by_id.get(connector_id)

    def distance_m(self, latitude: float, longitude: float) -> float:
        return distance_m(self.latitude, self.longitude, latitude, longitude)

    def pricing_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "price_per_kwh": self.price_per_kwh,
            "start_fee": self.start_fee,
        }


def _dc(connector_id: int, standard: str = "IEC_62196_T2_COMBO") -> SimConnector:
    return SimConnector(connector_id, standard, "Cable", "DC", max_voltage=500, max_amperage=100)


def utrecht_chargers() -> list[SimCharger]:
    """A fresh set: several within 1 km of the centre, one offline, one Faulted connector."""
    return [
        SimCharger(
            "UTR01",
            "Domplein",
            52.0907,
            5.1214,
            "Domplein 9",
            "3512 JC",
            [SimConnector(1), SimConnector(2)],
            evse_id="NL*PLC*EUTR01",
        ),
        SimCharger(
            "UTR02",
            "Neude",
            52.0934,
            5.1186,
            "Neude 11",
            "3512 AE",
            [SimConnector(1, max_amperage=16), SimConnector(2, max_amperage=16, status="Faulted")],
        ),
        SimCharger(
            "UTR03",
            "Vredenburg",
            52.0925,
            5.1133,
            "Vredenburgkade 2",
            "3511 WE",
            [SimConnector(1)],
            online=False,
        ),
        SimCharger(
            "UTR04",
            "Lucasbolwerk",
            52.0918,
            5.1290,
            "Lucasbolwerk 6",
            "3512 EH",
            [SimConnector(1), SimConnector(2, status="Reserved")],
        ),
        SimCharger(
            "UTR05",
            "Jaarbeurs",
            52.0880,
            5.1060,
            "Jaarbeursplein 6",
            "3521 AL",
            [_dc(1), _dc(2, "CHADEMO")],
            price_per_kwh=59,
            start_fee=0,
            hold=7500,
            evse_id="NL*PLC*EUTR05",
        ),
        SimCharger(
            "UTR06",
            "Maliebaan",
            52.0889,
            5.1318,
            "Maliebaan 45",
            "3581 CD",
            # A car with a full battery: the session runs but no energy flows.
            [SimConnector(1, ev_draws_kw=0.0), SimConnector(2, status="Unavailable")],
        ),
        SimCharger(
            "UTR07",
            "Ledig Erf",
            52.0838,
            5.1262,
            "Ledig Erf 1",
            "3581 PX",
            # The charger rejects every remote start: sessions end "failed".
            [SimConnector(1, rejects_start=True)],
        ),
        SimCharger(
            "UTR08",
            "Zeist Centrum",
            52.0894,
            5.2377,
            "Slotlaan 1",
            "3701 GA",
            [SimConnector(1, power_type="AC_1_PHASE")],
            city="Zeist",
        ),
    ]


def charger_json(charger: SimCharger, connector_status: dict[int, str | None]) -> dict[str, Any]:
    """The ``GET /chargers`` item; ``connector_status`` is the live OCPP status per connector."""
    return {
        "public_code": charger.public_code,
        "evse_id": charger.evse_id,
        "name": charger.name,
        "online": charger.online,
        "latitude": charger.latitude,
        "longitude": charger.longitude,
        "address": {
            "street": charger.street,
            "postal_code": charger.postal_code,
            "city": charger.city,
            "country": "NL",
        },
        "pricing": charger.pricing_json(),
        "connectors": [
            {
                "connector_id": c.connector_id,
                "status": connector_status.get(c.connector_id, c.status),
                "standard": c.standard,
                "format": c.format,
                "power_type": c.power_type,
                "max_voltage": c.max_voltage,
                "max_amperage": c.max_amperage,
            }
            for c in charger.connectors
        ],
    }
