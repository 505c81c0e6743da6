"""Live sessions for the push-path benchmarks, and the two ways updates reach a server:
signed roaming webhooks over HTTP, or snapshot messages published on Redis exactly as
another replica publishes them after a webhook (``SET snap`` + ``PUBLISH`` in one MULTI).

The ``updated_at`` of every update is the wall-clock time it was sent, so a subscriber
computes webhook -> subscriber latency from the ``updatedAt`` it receives.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

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


class Publisher:
    """Publishes the next state of sessions straight into Redis (another replica's work);
    with ``pad``, the provider's status word is that many characters longer."""

    def __init__(self, redis_url: str, pad: int = 0) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pad = "x" * pad
        self.last_at = 0.0
        self._records: dict[str, str] = {}

    def publish(self, batch: list[LiveSession]) -> None:
        pipe = self.client.pipeline(transaction=True)
        now = self.last_at = time.time()
        for s in batch:
            s.version += 1
            s.energy_wh += 7
            session = s.domain(now)
            if self.pad:
                session = replace(session, provider_status=f"active {self.pad}")
            snap = Snapshot(session, s.version, s.driver, now)
            payload = encode_snapshot(snap)
            session_key = keys.session_key(Provider.ROAMING, s.sid)
            pipe.set(keys.snapshot(session_key), payload, ex=keys.SNAPSHOT_LIVE_TTL)
            record = self._records.get(s.sid)
            if record is None:
                record = self._records[s.sid] = s.record().model_dump_json()
            # As a replica publishes it: with the record it read with the snapshot.
            pipe.publish(keys.session_channel(session_key), with_record(payload, record))
        pipe.execute()

    def close(self) -> None:
        self.client.close()


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
