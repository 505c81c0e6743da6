"""Provider JSON we refuse: what a webhook answers and what a poll or read logs.

Both name the first bad field and what is wrong with it (``data.cost
(less_than_equal)``), never the value: a body may hold personal data or a secret.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from bff.errors import ProviderUnavailable, WebhookRejected

log = logging.getLogger(__name__)


def first_problem(exc: ValidationError) -> str:
    """``data.cost (less_than_equal)``, or ``malformed JSON``."""
    error = exc.errors(include_url=False, include_input=False)[0]
    if error["type"] == "json_invalid":
        return "malformed JSON"
    where = ".".join(str(p) for p in error["loc"]) or "body"
    return f"{where} ({error['type']})"


def rejected_body(exc: ValidationError) -> WebhookRejected:
    """400 naming the field (the route logs the reason, so its log line names it too)."""
    problem = first_problem(exc)
    return WebhookRejected(
        400, problem if problem == "malformed JSON" else f"invalid webhook: {problem}"
    )


def unreadable(provider: str, what: str, exc: ValidationError, message: str) -> ProviderUnavailable:
    """A 2xx answer we cannot read (the provider's fault, not the driver's): logged with
    the field, then a :class:`ProviderUnavailable` with ``message``; nothing is written."""
    log.warning("unreadable %s answer (%s): %s", provider, what, first_problem(exc))
    return ProviderUnavailable(provider, message)
