"""Structured (JSON) logs, one object per line.

Every line written while a request is handled carries its ``request_id``
(:class:`~bff.server.requestid.RequestIdFilter` on the handler). Secrets never
reach the output: bearer/basic credentials, JWTs, signed-URL or credential query
parameters and the path segments providers declare secret
(:data:`~bff.providers.secret_paths.SECRET_PATHS`, e.g. Plugchoice's session token) are
masked in messages and tracebacks, and extras named like secrets dropped.

One handler, on the root logger, writes every line: uvicorn's loggers (``bff serve`` and
``bff sandbox`` pass ``log_config=None``) and libraries' loggers propagate to it, so the
redaction covers them too. httpx and httpcore log each request at INFO: they are kept at
WARNING unless ``BFF_LOG_LEVELS`` says otherwise (our own line per upstream call is at
DEBUG, :mod:`bff.observability.upstream`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from bff.providers.secret_paths import SECRET_PATHS
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
#: Loggers quieter than the root level by default (``BFF_LOG_LEVELS`` overrides): httpx
#: writes every request's URL at INFO, one line per provider call.
QUIET_LOGGERS = {"httpx": "WARNING", "httpcore": "WARNING"}
#: Loggers that get their own handlers from uvicorn's default config; ours must write them.
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def _path_rules(templates: Iterable[str]) -> list[tuple[re.Pattern[str], str]]:
    """A rule masking the ``{secret}`` segment of each template path, wherever the path
    appears (behind any host or mount prefix, in URLs, access-log lines, tracebacks)."""
    prefixes = sorted({t.partition("{secret}")[0] for t in templates if "{secret}" in t})
    if not prefixes:
        return []
    either = "|".join(re.escape(p) for p in prefixes)
    return [(re.compile(rf"(?i)({either})[^/?#&\s\"'<>]+"), rf"\1{_MASK}")]


#: The BFF's own receipt links carry their credential in the path (bff/usecases/receipts.py).
_SECRETS += _path_rules([*SECRET_PATHS, "/receipts/{secret}"])
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


def configure_logging(level: str = "INFO", levels: Mapping[str, str] | None = None) -> None:
    """JSON lines on stderr for every logger at ``level``; ``levels`` sets single loggers'
    levels (e.g. ``{"httpx": "INFO"}``) over :data:`QUIET_LOGGERS`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _UVICORN:  # should anything have configured them: through our handler
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name, value in {**QUIET_LOGGERS, **(levels or {})}.items():
        logging.getLogger(name).setLevel(value.upper())
