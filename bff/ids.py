"""Opaque global IDs (Relay ``Node``), unique across providers.

An ID is url-safe base64 of a JSON array ``[type, provider, *parts]``; clients treat it
as opaque. Decoding is strict: anything else is ``InvalidInput``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import lru_cache

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


#: IDs remembered both ways: a response carries the same few IDs request after request.
CACHED = 4096


@lru_cache(maxsize=CACHED)
def encode(type_: str, provider: Provider, *parts: str) -> str:
    return GlobalId(type_, provider, parts).encode()


def decode(value: str, expected: str | None = None, field: str = "id") -> GlobalId:
    gid = _remembered(value) if len(value) <= _CACHED_LENGTH else _parse(value)
    if gid is None:
        raise InvalidInput(f"{field} is not a valid ID", field=field)
    if expected is not None and gid.type != expected:
        raise InvalidInput(f"{field} is not a {expected} ID", field=field)
    return gid


def _parse(value: str) -> GlobalId | None:
    """The ID, or None when ``value`` is not one."""
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
        return GlobalId(type_, Provider(provider), tuple(parts))
    except (ValueError, TypeError, UnicodeError, binascii.Error, json.JSONDecodeError):
        return None


#: Decoded IDs are remembered (bad ones too) up to this length: far above any real one,
#: and low enough that remembered junk stays small.
_CACHED_LENGTH = 256
_remembered = lru_cache(maxsize=CACHED)(_parse)
