"""JSON log lines: the request id on each, and no secrets."""

from __future__ import annotations

import json
import logging
import sys

from bff.logs import JsonFormatter, configure_logging
from bff.server.requestid import RequestIdFilter, bind_request_id

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkcml2ZXItMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def line(msg: str, *args: object, exc: bool = False, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)
    if exc:
        try:
            raise RuntimeError(f"failed with Bearer {JWT}")
        except RuntimeError:
            record.exc_info = sys.exc_info()
    record.__dict__.update(extra)
    RequestIdFilter().filter(record)
    out: dict[str, object] = json.loads(JsonFormatter().format(record))
    return out


def test_the_request_id_is_a_field_inside_a_request_only() -> None:
    with bind_request_id("req-1"):
        assert line("hello")["request_id"] == "req-1"
    assert "request_id" not in line("hello")


def test_credentials_are_masked() -> None:
    out = line(
        "GET %s with %s",
        "https://x/receipt.pdf?id=7&X-Amz-Signature=abcd&token=s3cr3t",
        f"Authorization: Bearer {JWT}",
    )
    msg = str(out["msg"])
    assert "abcd" not in msg and "s3cr3t" not in msg and JWT not in msg
    assert "id=7" in msg and "Bearer [redacted]" in msg


def test_extras_named_like_secrets_and_tracebacks_are_masked() -> None:
    out = line("x", exc=True, client_secret="hunter2", note=f"token {JWT}", provider="ROAMING")
    assert out["client_secret"] == "[redacted]"
    assert JWT not in str(out["note"]) and out["provider"] == "ROAMING"
    assert "RuntimeError" in str(out["exc"]) and JWT not in str(out["exc"])
    assert "color_message" not in line("x", color_message="\x1b[1mx")


def test_secret_path_segments_are_masked_wherever_the_path_appears() -> None:
    token = "Xy7_q-kP0aB%2Fzz"
    access = line('%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5", "POST",
                  f"/_sandbox/plugchoice/api/v3/public-charging/sessions/{token}/stop?x=1", 200)
    assert token not in str(access["msg"])
    assert "/public-charging/sessions/[redacted]/stop?x=1" in str(access["msg"])
    url = f"https://api.plugchoice.com/api/v3/public-charging/sessions/{token}"
    for out in (line("HTTP Request: GET %s", url), line("x", exc=True, url=url)):
        assert token not in json.dumps(out)
    start = line("POST https://x/api/v3/public-charging/sessions HTTP/1.1")
    assert start["msg"] == "POST https://x/api/v3/public-charging/sessions HTTP/1.1"


def test_libraries_log_through_our_handler_and_httpx_is_quiet() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.addHandler(logging.StreamHandler())  # as uvicorn's default config does
    uvicorn_access.propagate = False
    try:
        configure_logging("INFO", {"bff.observability.upstream": "DEBUG"})
        assert not uvicorn_access.handlers and uvicorn_access.propagate
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        assert logging.getLogger("bff.observability.upstream").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in ("httpx", "httpcore", "bff.observability.upstream"):
            logging.getLogger(name).setLevel(logging.NOTSET)
