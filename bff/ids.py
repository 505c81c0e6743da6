"""Opaque global IDs (Relay ``Node``), unique across providers.

An ID is url-safe base64 of a JSON array ``[type, provider, *parts]``; clients treat it
as opaque. Decoding is strict: anything else is ``InvalidInput``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from bff.domain.model import Provider
from bff.errors import InvalidInput

SESSION = "ChargingSession"
CHARGER = "Charger"
CONNECTOR = "Connector"
DRIVER = "Driver"
_TYPES = {SESSION: 1, CHARGER: 1, CONNECTOR: 2}


@dataclass(frozen=True, slots=True)
class GlobalId:
    type: str
    provider: Provider
    parts: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.parts[0]

    def encode(self) -> str:
        raw = json.dumps([self.type, self.provider.value, *self.parts], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def encode(type_: str, provider: Provider, *parts: str) -> str:
    return GlobalId(type_, provider, parts).encode()


def decode(value: str, expected: str | None = None, field: str = "id") -> GlobalId:
    try:
        padded = value + "=" * (-len(value) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        type_, provider, *parts = data
        if type_ not in _TYPES or len(parts) != _TYPES[type_]:
            raise ValueError
        # "." and ".." would be path segments to the providers' URLs (and dot segments
        # are resolved before sending): another resource than the one named.
        if not all(isinstance(p, str) and p.strip(".") for p in parts):
            raise ValueError
        gid = GlobalId(type_, Provider(provider), tuple(parts))
    except (ValueError, TypeError, UnicodeError, binascii.Error, json.JSONDecodeError):
        raise InvalidInput(f"{field} is not a valid ID", field=field) from None
    if expected is not None and gid.type != expected:
        raise InvalidInput(f"{field} is not a {expected} ID", field=field)
    return gid
