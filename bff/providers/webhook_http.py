"""What every webhook parser reads of the HTTP request: headers by name, and a body
declared as JSON read into the provider's model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bff.errors import WebhookRejected
from bff.providers.invalid import rejected_body

M = TypeVar("M", bound=BaseModel)


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


def json_body(headers: Mapping[str, str], body: bytes, model: type[M]) -> M:
    """The body as ``model``: 415 unless declared as JSON (:func:`is_json`), 400 naming
    the first bad field (never its value)."""
    if not is_json(header(headers, "content-type")):
        raise WebhookRejected(415, "webhook body must be application/json")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise rejected_body(exc) from None
