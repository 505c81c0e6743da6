"""Provider HTTP against a server that closes kept-alive connections as they are reused
(issue 12 item 12): a Plugchoice poll reusing a connection the server's keep-alive timer
just closed got ``RemoteProtocolError``. Reads are retried once at once on another
connection, without counting against the provider's circuit; writes are never resent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn

from bff.domain.model import Provider, SessionRef
from bff.errors import ProviderUnavailable
from bff.providers.http import KEEPALIVE_EXPIRY_SECONDS
from bff.providers.plugchoice.adapter import TOKEN_KEY
from bff.providers.registry import build_adapter
from bff.settings import Settings
from tests.figures import Figures

SESSION = b'{"data": {"status": "charging", "connector_id": 1}}'


@dataclass
class Request:
    connection: int
    method: str
    stale: bool  # arrived on a connection whose keep-alive had run out


@dataclass
class KeepAliveServer:
    """HTTP/1.1 on raw asyncio streams, answering every request with keep-alive, and the
    keep-alive race made deterministic: after :meth:`expire`, each connection open then
    is closed, unanswered, by the next request that arrives on it (the server's keep-alive
    timer firing just as the client reuses the connection, which with uvicorn's 5 s
    keep-alive and a 5 s poll interval happened now and then)."""

    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    expiring: set[int] = field(default_factory=set)

    def expire(self) -> None:
        self.expiring = set(range(self.connections))

    def stale(self) -> int:
        return sum(r.stale for r in self.requests)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number, self.connections = self.connections, self.connections + 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                length = next((int(v) for k, _, v in (x.partition(": ") for x in lines)
                               if k.lower() == "content-length"), 0)
                await reader.readexactly(length)
                stale = number in self.expiring
                self.requests.append(Request(number, lines[0].split(" ")[0], stale))
                if stale:
                    return  # closed with the request unanswered
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(SESSION), SESSION))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def keepalive_server() -> AsyncIterator[tuple[KeepAliveServer, str]]:
    server = KeepAliveServer()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server, f"http://127.0.0.1:{port}"


def ref(n: int) -> SessionRef:
    return SessionRef("d", f"s{n}", {TOKEN_KEY: f"token-{n}"})


async def test_a_poll_on_a_connection_closed_as_it_is_reused_succeeds(
    keepalive_server: tuple[KeepAliveServer, str],
) -> None:
    server, url = keepalive_server
    # No retries configured: the read is still sent once more, on a new connection.
    adapter, client = build_adapter(Provider.PLUGCHOICE, url, Settings(upstream_retries=0))
    async with client:
        assert await adapter.get_session(ref(1)) is not None
        server.expire()
        assert await adapter.get_session(ref(1)) is not None
    assert [(r.connection, r.stale) for r in server.requests] == [(0, False), (0, True),
                                                                  (1, False)]


async def test_a_round_of_polls_on_connections_closed_as_they_are_reused_succeeds(
    keepalive_server: tuple[KeepAliveServer, str], figures: Figures
) -> None:
    server, url = keepalive_server
    # The default settings: 2 retries; 5 failures in a row open the circuit for 30 s.
    adapter, client = build_adapter(Provider.PLUGCHOICE, url, Settings())
    breaker = adapter.client.http.breaker
    assert breaker is not None
    polls = 6  # a poll round: this many live sessions at once
    async with client:
        first = await asyncio.gather(*(adapter.get_session(ref(n)) for n in range(polls)))
        assert all(s is not None for s in first) and server.connections == polls
        server.expire()  # the next round comes as the server's keep-alive runs out
        again = await asyncio.gather(*(adapter.get_session(ref(n)) for n in range(polls)),
                                     return_exceptions=True)
    answered = sum(1 for r in again if not isinstance(r, BaseException))
    figures(f"{polls} concurrent Plugchoice polls reusing connections the server closed "
            f"under them: {answered}/{polls} answered, {server.stale()} stale-connection "
            f"attempts, circuit opened {breaker.opened} times (before the fix: 0/{polls}, "
            "the circuit opened on the stale connections and stayed open 30 s)")
    assert answered == polls, again
    assert breaker.opened == 0 and server.stale() == polls


async def test_a_write_on_a_closed_connection_is_not_resent(
    keepalive_server: tuple[KeepAliveServer, str],
) -> None:
    server, url = keepalive_server
    adapter, client = build_adapter(Provider.PLUGCHOICE, url, Settings())
    async with client:
        await adapter.get_session(ref(1))  # opens the connection the stop reuses
        server.expire()
        with pytest.raises(ProviderUnavailable):
            await adapter.stop_session(ref(1))
    assert [r.method for r in server.requests] == ["GET", "POST"], server.requests


async def test_idle_connections_are_dropped_before_uvicorns_keep_alive_closes_them() -> None:
    # uvicorn (our sandbox and, often, a provider's) closes a connection idle 5 s; polls
    # come every 5 s. Reusing a connection the server is keepalive_server fails the request.
    assert KEEPALIVE_EXPIRY_SECONDS < uvicorn.Config(app=None).timeout_keep_alive
    for provider in Provider:
        _, client = build_adapter(provider, "http://provider.test", Settings())
        async with client:
            # httpx has no public getter for its pool's limits.
            pool = client._transport._pool  # type: ignore[attr-defined]
            assert pool._keepalive_expiry == KEEPALIVE_EXPIRY_SECONDS, provider
