"""Live sessions for the push-path benchmarks, and the two ways updates reach a server:
signed roaming webhooks over HTTP, or snapshot messages published on Redis exactly as
another replica publishes them after a webhook (``SET snap`` + ``PUBLISH`` in one MULTI).

The ``updated_at`` of every update is the wall-clock time it was sent, so a subscriber
computes webhook -> subscriber latency from the ``updatedAt`` it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio as aioredis

from bff import ids
from bff.domain.model import ChargingSession, Provider
from bff.live.codec import Snapshot, encode_snapshot, with_record
from bff.live.snapshots import SnapshotStore
from bff.providers.roaming.mappers import session_from_status
from bff.providers.roaming.schemas import WebhookSessionData
from bff.providers.roaming.webhooks import sign_roaming_webhook
from bff.settings import Settings
from bff.store import keys
from bff.store.records import SessionRecord, SessionRecords

EVSE = "FI-VRT-E12345"
_SETTINGS = Settings()  # the servers' defaults: the webhook secrets they check
STARTED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class LiveSession:
    driver: str
    sid: str  # the roaming platform's id
    version: int = 1
    energy_wh: int = 1000

    @property
    def gid(self) -> str:
        return ids.encode(ids.SESSION, Provider.ROAMING, self.sid)

    def status(self, at: float) -> dict[str, Any]:
        """The webhook ``data`` of the next state, stamped ``at`` (epoch seconds)."""
        return {
            "session_id": self.sid,
            "status": "active",
            "energy_kwh": float(Decimal(self.energy_wh) / 1000),
            "cost": float(Decimal(self.energy_wh) / 1000 * Decimal("0.39")),
            "currency": "EUR",
            "duration_minutes": 30,
            "start_time": STARTED.isoformat(),
            "updated_at": datetime.fromtimestamp(at, UTC).isoformat(),
        }

    def record(self) -> SessionRecord:
        """The BFF's record of it, as a start through the BFF would have saved it."""
        return SessionRecord(
            provider=Provider.ROAMING, session_id=self.sid, driver_id=self.driver,
            charger_id=EVSE, connector_id=f"{EVSE}*1", created_at=STARTED,
        )  # fmt: skip

    def domain(self, at: float) -> ChargingSession:
        data = WebhookSessionData.model_validate(self.status(at))
        return session_from_status(data, data.updated_at, EVSE)


async def create_sessions(
    redis_url: str, drivers: list[str], cluster: bool = False
) -> list[LiveSession]:
    """One live roaming session per driver, with its record and first snapshot (on a
    Redis Cluster with ``cluster``: ``redis_url`` names any node)."""
    client: aioredis.Redis | aioredis.RedisCluster = (
        aioredis.RedisCluster.from_url(redis_url) if cluster else aioredis.Redis.from_url(redis_url)
    )
    records, store = SessionRecords(client), SnapshotStore(client)
    sessions = [LiveSession(d, f"bench-{uuid.uuid4().hex[:12]}") for d in drivers]
    sem = asyncio.Semaphore(32)

    async def one(s: LiveSession) -> None:
        async with sem:
            await records.save(s.record())
            applied = await store.upsert(s.domain(time.time()), s.driver)
            assert applied.snapshot is not None
            s.version = applied.snapshot.version

    try:
        await asyncio.gather(*(one(s) for s in sessions))
    finally:
        await client.aclose()
    return sessions


async def sync_versions(redis_url: str, sessions: list[LiveSession]) -> None:
    """Each session's version as stored (webhooks through a server raised it), so that the
    :class:`Publisher`'s next messages are newer than what subscribers have seen."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        names = [keys.snapshot(keys.session_key(Provider.ROAMING, s.sid)) for s in sessions]
        for k in range(0, len(names), 500):
            raws = await client.mget(names[k : k + 500])
            for s, raw in zip(sessions[k : k + 500], raws, strict=True):
                if raw is not None:
                    s.version = max(s.version, int(json.loads(raw)["v"]))
    finally:
        await client.aclose()


class NextStates:
    """The messages a replica publishes for sessions' next states; with ``pad``, the
    provider's status word is that many characters longer."""

    def __init__(self, pad: int = 0) -> None:
        self.pad = "x" * pad
        self._records: dict[str, str] = {}

    def next_message(self, s: LiveSession, now: float) -> tuple[str, str, str, str]:
        """The session's next state: (snapshot key, snapshot, channel, message)."""
        s.version += 1
        s.energy_wh += 7
        session = s.domain(now)
        if self.pad:
            session = replace(session, provider_status=f"active {self.pad}")
        snap = Snapshot(session, s.version, s.driver, now)
        payload = encode_snapshot(snap)
        session_key = keys.session_key(Provider.ROAMING, s.sid)
        record = self._records.get(s.sid)
        if record is None:
            record = self._records[s.sid] = s.record().model_dump_json()
        # As a replica publishes it: with the record it read with the snapshot.
        message = with_record(payload, record)
        return keys.snapshot(session_key), payload, keys.session_channel(session_key), message


class Publisher:
    """Publishes the next state of sessions straight into Redis (another replica's work);
    ``pad`` as in :class:`NextStates`."""

    def __init__(self, redis_url: str, pad: int = 0) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.states = NextStates(pad)
        self.last_at = 0.0

    def publish(self, batch: list[LiveSession]) -> None:
        pipe = self.client.pipeline(transaction=True)
        now = self.last_at = time.time()
        for s in batch:
            snap_key, payload, channel, message = self.states.next_message(s, now)
            pipe.set(snap_key, payload, ex=keys.SNAPSHOT_LIVE_TTL)
            pipe.publish(channel, message)
        pipe.execute()

    def close(self) -> None:
        self.client.close()


def _resp(*args: str | int) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = str(a).encode()
        parts += [f"${len(b)}\r\n".encode(), b, b"\r\n"]
    return b"".join(parts)


class FloodPublisher:
    """The same messages as :class:`Publisher` (``SET`` + ``PUBLISH`` in one ``MULTI``),
    made before the measured window and then written to Redis as raw protocol bytes: a
    flood of 20,000 a second from :class:`Publisher` took 0.6-0.9 of this machine's two
    cores, which the servers measured beside it could not have. Messages are stamped
    with the time they were made, so they are for counting, not for latency."""

    def __init__(self, redis_url: str) -> None:
        url = urlsplit(redis_url)
        self.sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        db = (url.path or "/0").lstrip("/") or "0"
        self.sock.sendall(_resp("SELECT", db))
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.states = NextStates()

    def _drain(self) -> None:
        """Replies are read and dropped (Redis stops reading a client that never reads)."""
        try:
            while self.sock.recv(1 << 16):
                pass
        except OSError:
            pass

    def prepare(self, sessions: list[LiveSession], total: int) -> list[tuple[str, bytes]]:
        """``total`` next states, round robin over ``sessions``: (session id, bytes)."""
        now, out = time.time(), []
        for i in range(total):
            s = sessions[i % len(sessions)]
            snap_key, payload, channel, message = self.states.next_message(s, now)
            raw = b"".join((
                _resp("MULTI"), _resp("SET", snap_key, payload, "EX", keys.SNAPSHOT_LIVE_TTL),
                _resp("PUBLISH", channel, message), _resp("EXEC"),
            ))  # fmt: skip
            out.append((s.sid, raw))
        return out

    def flood(self, prepared: list[tuple[str, bytes]], rate: float) -> dict[str, int]:
        """Writes ``prepared`` at ``rate`` a second (what is due every 10 ms); updates sent
        per session."""
        sent: dict[str, int] = {}

        def send(first: int, count: int) -> None:
            batch = prepared[first : first + count]
            self.sock.sendall(b"".join(raw for _, raw in batch))
            for sid, _ in batch:
                sent[sid] = sent.get(sid, 0) + 1

        paced(len(prepared), rate, send)
        return sent

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(_resp("QUIT"))
            self.sock.shutdown(socket.SHUT_WR)
        self._reader.join(timeout=10)
        self.sock.close()


def paced(total: int, rate: float, send: Callable[[int, int], None]) -> None:
    """Calls ``send(first, count)`` every 10 ms with the items due by then at ``rate`` a
    second (items ``first`` .. ``first + count - 1``), until ``total`` are sent: any rate,
    without a sleep per item."""
    tick, start, done, k = 0.01, time.monotonic(), 0, 0
    while done < total:
        time.sleep(max(0.0, start + k * tick - time.monotonic()))
        due = min(total, int(k * tick * rate) + 1) - done
        k += 1
        if due > 0:
            send(done, due)
            done += due


def roaming_webhook(s: LiveSession, port: int) -> bytes:
    """The bytes of one signed ``POST /webhooks/roaming`` with the session's next state."""
    s.energy_wh += 7
    body = json.dumps({"type": "session.updated", "data": s.status(time.time())}).encode()
    secret = _SETTINGS.roaming_webhook_secret.get_secret_value()
    headers = sign_roaming_webhook(secret, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    head = [
        "POST /webhooks/roaming HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def plugsurfing_prompt(driver: str, session_id: str, port: int) -> bytes:
    """The bytes of one ``POST /webhooks/plugsurfing`` prompt (re-fetch this session)."""
    body = json.dumps(
        {
            "event": "SESSION_UPDATED",
            "payload": {
                "userId": driver,
                "sessionId": session_id,
                "timestamp": datetime.now(UTC).isoformat(),
            },
        }
    ).encode()
    auth = _SETTINGS.plugsurfing_webhook_auth.get_secret_value()
    head = [
        "POST /webhooks/plugsurfing HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Authorization: {auth}",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body
