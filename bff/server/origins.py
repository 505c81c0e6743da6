"""Which browser origins may open a websocket (browsers apply no CORS to the handshake).

Requests without an ``Origin`` (the apps, not browsers) and same-origin pages (our
GraphiQL) pass; other origins only when listed in ``BFF_ALLOWED_ORIGINS`` (or ``*``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` as browsers send it (lowercase, no default port)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def origin_allowed(headers: Mapping[str, str], allowed: Collection[str]) -> bool:
    origin = headers.get("origin")
    if origin is None or headers.get("sec-fetch-site") == "same-origin":
        return True
    normalized = normalize_origin(origin)
    if normalized is None:
        return False
    host = headers.get("host", "")
    if normalized.split("://", 1)[1] == host.lower() or _same_host(normalized, host):
        return True
    return "*" in allowed or normalized in {normalize_origin(a) for a in allowed}


def _same_host(origin: str, host: str) -> bool:
    scheme = origin.split("://", 1)[0]
    normalized = normalize_origin(f"{scheme}://{host}")
    return normalized == origin
