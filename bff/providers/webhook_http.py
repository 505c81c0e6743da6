"""What every webhook parser reads of the HTTP request before its body: headers by name,
and whether the body is declared as JSON."""

from __future__ import annotations

from collections.abc import Mapping


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The header ``name`` in any letter case (a plain dict is case-sensitive; HTTP
    header names are not)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def is_json(content_type: str | None) -> bool:
    """``application/json`` or a JSON-based ``application/<subtype>+json`` (RFC 6839), in
    any letter case, parameters such as ``; charset=utf-8`` allowed. ``text/x+json`` is
    not JSON by its top-level type."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
