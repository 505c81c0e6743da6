"""What a client can make the server read: body and query caps, malformed bodies.

Against a server of its own (its memory is measured): bodies over BFF_MAX_BODY_BYTES are
refused with 413 before they are read whole (declared, or counted while chunked); query
texts over BFF_MAX_QUERY_BYTES with 413 (POST, GET) or 4400 (websocket); malformed
bodies and websocket messages with 400 / 4400 and a reason, never a 500 or a traceback.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FAST_ENV
from tests.figures import Figures
from tests.hardening.support import close_code, error_codes, ws_message, ws_open
from tests.support import Server

MB = 1_000_000
CAP = 1024 * 1024  # the default BFF_MAX_BODY_BYTES
#: Under the default (100 KiB) so that GET can show it too: uvicorn refuses URLs over ~64 KiB.
QUERY_CAP = 32 * 1024
SUBSCRIPTION = "subscription { viewerSessionsUpdated { id } }"


@pytest.fixture(scope="module")
def srv(redis_url: str) -> Iterator[Server]:
    server = Server({**FAST_ENV, "BFF_MAX_QUERY_BYTES": str(QUERY_CAP)})
    server.start()
    yield server
    server.stop()


def rss_mb(server: Server) -> float:
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match, status
    return int(match[1]) / 1024


def error_lines(server: Server) -> list[str]:
    return [line[:300] for line in server.log_path.read_text().splitlines()
            if '"level": "ERROR"' in line or "Traceback" in line]


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float
    sent: int  # body bytes the client had written when the answer came


async def post_raw(server: Server, size: int, *, chunked: bool) -> Answer:
    """POST a ``size``-byte JSON body (a valid request padded with a long string) over a
    raw socket, writing while reading, so the answer is seen as soon as it comes (and
    even after the server closed on the rest of the body)."""
    loop = asyncio.get_running_loop()
    head, tail = b'{"query": "{ __typename }", "pad": "', b'"}'
    filler = b"x" * 65536
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setblocking(False)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sent = 0

    async def write(piece: bytes) -> None:
        nonlocal sent
        await loop.sock_sendall(sock, b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        sent += len(piece)

    async def pump() -> None:
        try:
            await loop.sock_sendall(sock, (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           f"Content-Type: application/json\r\n{framing}\r\n"
                                           "\r\n").encode())
            await write(head)
            while sent < size - len(tail):
                await write(filler[: size - len(tail) - sent])
            await write(tail)
            if chunked:
                await loop.sock_sendall(sock, b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: the rest is not wanted

    started = time.perf_counter()
    task = asyncio.create_task(pump())
    raw, at, seconds = b"", 0, 0.0
    try:
        async with asyncio.timeout(120):
            while True:
                head_end = raw.find(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: (\d+)", raw)
                if head_end >= 0 and length and len(raw) >= head_end + 4 + int(length[1]):
                    break
                data = await loop.sock_recv(sock, 65536)
                assert data, f"closed without an answer: {raw!r}"
                at = at or sent
                raw += data
        seconds = time.perf_counter() - started
    finally:
        task.cancel()
        sock.close()
    status_line, _, rest = raw.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return Answer(int(status_line.split()[1]), json.loads(body), seconds, at)


async def get_raw(server: Server, query: str) -> tuple[int, dict[str, Any]]:
    """GET /graphql?query=... over a raw socket (httpx refuses URLs this long)."""
    from urllib.parse import quote

    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET /graphql?query={quote(query)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Accept: application/json\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def message(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["message"])


async def test_bodies_over_the_cap_are_refused_before_they_are_read(
    srv: Server, figures: Figures
) -> None:
    small = await post_raw(srv, 10_000, chunked=False)
    assert small.status == 200 and small.body == {"data": {"__typename": "Query"}}, small
    before = rss_mb(srv)
    declared = await asyncio.gather(*(post_raw(srv, 100 * MB, chunked=False) for _ in range(4)))
    after_declared = rss_mb(srv)
    chunked = await asyncio.gather(*(post_raw(srv, 100 * MB, chunked=True) for _ in range(4)))
    after_chunked = rss_mb(srv)
    for answer in (*declared, *chunked):
        assert answer.status == 413, answer
        assert error_codes(answer.body) == ["PAYLOAD_TOO_LARGE"], answer.body
        assert f"{CAP} bytes" in message(answer.body)
    # Refused from Content-Length: long before the client could send 100 MB.
    assert all(a.sent < 20 * MB for a in declared), [a.sent for a in declared]
    # Chunked: read until the count passed the cap, not further.
    assert all(a.sent < 20 * MB for a in chunked), [a.sent for a in chunked]
    assert after_declared - before < 20 and after_chunked - before < 20, (
        before, after_declared, after_chunked)
    # Just over the cap, with a declared length: refused too; at the cap it runs.
    assert (await post_raw(srv, CAP + 1, chunked=False)).status == 413
    assert (await post_raw(srv, CAP, chunked=True)).status == 200
    assert error_lines(srv) == []

    def ms(answers: list[Answer]) -> str:
        return f"{max(a.seconds for a in answers) * 1000:.0f}"

    figures(f"body caps (BFF_MAX_BODY_BYTES={CAP}): 4 concurrent 100 MB bodies -> 413 in "
            f"{ms(declared)} ms (client had sent <= {max(a.sent for a in declared) / MB:.1f} "
            f"MB), RSS +{after_declared - before:.1f} MB; chunked: 4 concurrent 100 MB -> "
            f"413 in {ms(chunked)} ms (sent <= {max(a.sent for a in chunked) / MB:.1f} MB), "
            f"RSS +{after_chunked - before:.1f} MB")


async def test_query_text_over_the_cap_is_refused(srv: Server, figures: Figures) -> None:
    fits = "{ __typename } #" + "x" * (QUERY_CAP - 100)  # a comment: the tokens stay few
    big = "{ __typename } #" + "x" * (QUERY_CAP + 1)
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
        ok = await http.post("/graphql", json={"query": fits})
        assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}
        spaces = await http.post("/graphql", json={"query": "{ __typename }" + " " * QUERY_CAP})
        refused = await http.post("/graphql", json={"query": big})
    assert spaces.status_code == 413, spaces.text
    assert refused.status_code == 413, refused.text
    assert error_codes(refused.json()) == ["QUERY_TOO_LARGE"]
    assert f"{QUERY_CAP} bytes" in message(refused.json())
    status, body = await get_raw(srv, big)
    assert status == 413 and error_codes(body) == ["QUERY_TOO_LARGE"], (status, body)
    status, body = await get_raw(srv, fits)
    assert status == 200 and body == {"data": {"__typename": "Query"}}, (status, body)

    ws = await ws_open(srv, srv.token("big-query"))
    try:
        assert (await ws_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SUBSCRIPTION + " " * QUERY_CAP}}))
        assert await close_code(ws) == 4400
        assert f"{QUERY_CAP} bytes" in ws.close_reason
    finally:
        await ws.close()
    # A websocket message is capped like a body (uvicorn's ws_max_size): 1009.
    ws = await ws_open(srv, srv.token("huge-message"))
    try:
        assert (await ws_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SUBSCRIPTION, "pad": "x" * CAP}}))
        assert await close_code(ws) == 1009
    finally:
        await ws.close()
    assert error_lines(srv) == []
    figures(f"query cap (BFF_MAX_QUERY_BYTES={QUERY_CAP}): a {len(big) // 1024} KiB query "
            "(whitespace, or a comment) -> 413 QUERY_TOO_LARGE over POST and GET, 4400 on the websocket; "
            "a websocket message over the body cap -> 1009")


MALFORMED: dict[str, bytes] = {
    "deeply nested JSON": b'{"query": "{ __typename }", "variables": {"a": '
                          + b"[" * 100_000 + b"]" * 100_000 + b"}}",
    "nested 40 deep": b'{"query": "{ __typename }", "variables": {"a": '
                      + b"[" * 40 + b"]" * 40 + b"}}",
    "invalid UTF-8": b'{"query": "{ __typename } \xff\xfe"}',
    "null": b"null",
    "123": b"123",
    "an array": b'[{"query": "{ __typename }"}]',
    "not JSON": b'{"query": ',
    "query not a string": b'{"query": 5}',
    "variables not an object": b'{"query": "{ __typename }", "variables": "x"}',
    "operationName not a string": b'{"query": "{ __typename }", "operationName": 5}',
}

BAD_MESSAGES: dict[str, str] = {
    "null": "null",
    "an array": "[]",
    "deeply nested": "[" * 50_000 + "]" * 50_000,
    "deeply nested variables": json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": SUBSCRIPTION, "variables": {"a": "NEST"}}}).replace(
            '"NEST"', "[" * 900 + "]" * 900),
    "payload null": '{"id": "1", "type": "subscribe", "payload": null}',
    "query not a string": '{"id": "1", "type": "subscribe", "payload": {"query": 5}}',
    "operationName not a string": json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": SUBSCRIPTION, "operationName": 5}}),
    "id not a string": json.dumps({"id": 1, "type": "subscribe",
                                   "payload": {"query": SUBSCRIPTION}}),
}


async def test_malformed_bodies_and_messages_get_a_reason_not_a_500(
    srv: Server, figures: Figures
) -> None:
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
        for kind, body in MALFORMED.items():
            r = await http.post("/graphql", content=body,
                                headers={"content-type": "application/json"})
            assert r.status_code == 400, (kind, r.status_code, r.text[:300])
            assert error_codes(r.json()) == ["BAD_REQUEST"], (kind, r.text)
            assert message(r.json()), kind
        deep = "[" * 5000 + "]" * 5000
        for params in ({"query": "{ __typename }", "variables": deep},
                       {"query": "{ __typename }", "variables": "5"},
                       {"query": "{ __typename }", "extensions": "{"}):
            r = await http.get("/graphql", params=params, headers={"accept": "application/json"})
            assert r.status_code == 400 and error_codes(r.json()) == ["BAD_REQUEST"], r.text
    closes = []
    for kind, text in BAD_MESSAGES.items():
        ws = await ws_open(srv, srv.token("bad-messages"))
        try:
            assert (await ws_message(ws))["type"] == "connection_ack"
            await ws.send(text)
            try:
                code = await close_code(ws, 5)
            except TimeoutError:
                code = None
            closes.append(code)
            assert code == 4400 and ws.close_reason, (kind, code)
        finally:
            await ws.close()
    assert error_lines(srv) == [], "no 500, no traceback"
    figures(f"malformed bodies: {len(MALFORMED)} kinds -> 400 BAD_REQUEST with a reason "
            f"(deep nesting, invalid UTF-8, null, 123, array, wrong field types), 3 kinds of "
            f"GET parameters -> 400; {len(BAD_MESSAGES)} kinds of websocket messages -> 4400; "
            "0 ERROR lines")


async def test_well_formed_messages_pass_the_guard(srv: Server) -> None:
    ws = await ws_open(srv, srv.token("guarded"))
    try:
        assert (await ws_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "q", "type": "subscribe",
                                  "payload": {"query": "{ __typename }"}}))
        assert await ws_message(ws) == {"id": "q", "type": "next",
                                        "payload": {"data": {"__typename": "Query"}}}
        assert await ws_message(ws) == {"id": "q", "type": "complete"}
    finally:
        await ws.close()
