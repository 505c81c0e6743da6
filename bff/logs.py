"""Structured (JSON) logs, one object per line.

Every line written while a request is handled carries its ``request_id``
(:class:`~bff.server.requestid.RequestIdFilter` on the handler). Secrets never
reach the output: bearer/basic credentials, JWTs and signed-URL or credential query
parameters are masked in messages and tracebacks, and extras named like secrets dropped.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from bff.server.requestid import RequestIdFilter

# uvicorn's ANSI copy of the message is noise in JSON.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "color_message",
}
_MASK = "[redacted]"
_SECRETS = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {_MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), _MASK),
    (
        re.compile(
            r"(?i)([?&;][^=&\s\"']*(?:sig|token|secret|pass|key|credential|auth|policy)"
            r"[^=&\s\"']*=)[^&\s\"']+"
        ),
        rf"\1{_MASK}",
    ),
]
_SECRET_NAME = re.compile(r"(?i)secret|token|password|authorization|api_?key|credential")


def redact(text: str) -> str:
    """``text`` with credentials masked."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for k, v in record.__dict__.items():
            if k not in _STANDARD and not k.startswith("_"):
                if _SECRET_NAME.search(k):
                    out[k] = _MASK
                elif isinstance(v, str):
                    out[k] = redact(v)
                else:
                    out[k] = v if isinstance(v, int | float | bool | None) else redact(str(v))
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
