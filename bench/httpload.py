"""A lean closed-loop HTTP/1.1 load generator (keep-alive, one request in flight per
connection), so that the client costs far less CPU than the server it measures.

Bounded twice: by ``seconds`` and by ``max_requests``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds
    sample: bytes = b""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """The ``q`` quantile of latency, in milliseconds."""
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def graphql_request(
    port: int, body: dict[str, Any], token: str | None = None, path: str = "/graphql"
) -> bytes:
    """The bytes of one ``POST /graphql`` (sent again and again on a connection)."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(raw)}",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + raw


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value.strip())
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


async def run_load(
    port: int,
    request: bytes | Callable[[], bytes],
    *,
    seconds: float,
    concurrency: int,
    max_requests: int = 1_000_000,
    check: bytes | None = None,
) -> LoadResult:
    """``concurrency`` connections sending ``request`` (or what it makes, afresh each
    time) back to back for ``seconds``.

    A response that is not 200 (or lacks ``check``, or has ``errors``) counts as an error.
    """
    make = request if callable(request) else (lambda: request)
    result = LoadResult()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    budget = [max_requests]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while loop.time() < deadline and budget[0] > 0:
                budget[0] -= 1
                data = make()
                t0 = time.perf_counter()
                writer.write(data)
                status, body = await _read_response(reader)
                result.latencies.append(time.perf_counter() - t0)
                result.requests += 1
                if (
                    status != 200
                    or (check is not None and check not in body)
                    or b'"errors"' in body
                ):
                    result.errors += 1
                    if not result.sample:
                        result.sample = body[:500]
        finally:
            writer.close()

    started = loop.time()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), seconds + 30)
    result.seconds = loop.time() - started
    return result
