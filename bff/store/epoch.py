"""What tells a Redis that kept our data from one that lost it, and how durable it is.

The marker (``bff:epoch``, :data:`bff.store.keys.EPOCH`) is written once, with ``SET
NX`` and no expiry, by the first replica that finds it missing: ``{"id": <random>,
"created_at": <ISO 8601>}``. Each replica remembers the id it found. When the key is
gone, or holds another id, Redis lost everything we wrote under us: a restart without
persistence, a ``FLUSHALL``, a failover to an empty server. A restart from an RDB file
older than the marker looks the same, and is a loss too. (A failover to a replica that
lags by a few writes keeps the marker: that partial loss is not seen here.)

:func:`probe_persistence` reads whether Redis would survive a restart: AOF (``INFO
persistence``, which managed Redis resources answer), RDB snapshots (``CONFIG GET save``,
which some refuse: then unknown) and connected replicas (``INFO replication``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import ResponseError

from bff.store import keys
from bff.store.client import AnyRedis


@dataclass(frozen=True, slots=True)
class Epoch:
    id: str
    created_at: str  # ISO 8601, as written

    def encode(self) -> str:
        return json.dumps({"id": self.id, "created_at": self.created_at})


def _decode(raw: bytes | str) -> Epoch:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    try:
        data = json.loads(text)
        return Epoch(str(data["id"]), str(data.get("created_at", "")))
    except (ValueError, TypeError, KeyError):
        return Epoch(text[:64], "")  # not ours: still a different epoch


def decode_epoch(raw: Any) -> Epoch | None:
    """The epoch from a raw ``GET`` of the marker (None when absent)."""
    return _decode(raw) if raw else None


async def read_epoch(redis: AnyRedis) -> Epoch | None:
    return decode_epoch(await redis.get(keys.EPOCH))


async def ensure_epoch(redis: AnyRedis) -> tuple[Epoch, bool]:
    """The current epoch, writing a new one if there is none; True when written now."""
    while True:
        new = Epoch(uuid.uuid4().hex, datetime.now(UTC).isoformat())
        if await redis.set(keys.EPOCH, new.encode(), nx=True):
            return new, True
        found = await read_epoch(redis)
        if found is not None:  # else deleted in between: write ours
            return found, False


@dataclass(frozen=True, slots=True)
class Persistence:
    """Whether the Redis we talk to keeps its data over a restart (None: unknown)."""

    aof: bool | None
    rdb_schedule: str | None  # ``CONFIG GET save``; "" when snapshots are off
    replicas: int | None

    @property
    def durable(self) -> bool | None:
        if self.aof or self.rdb_schedule:
            return True
        if self.aof is False and self.rdb_schedule == "":
            return False
        return None

    def describe(self) -> str:
        aof = {True: "AOF on", False: "AOF off", None: "AOF unknown"}[self.aof]
        if self.rdb_schedule is None:
            rdb = "RDB schedule unknown (CONFIG refused)"
        else:
            rdb = f"RDB snapshots '{self.rdb_schedule}'" if self.rdb_schedule else "RDB off"
        replicas = "replicas unknown" if self.replicas is None else f"{self.replicas} replica(s)"
        return f"{aof}, {rdb}, {replicas}"

    def concerns(self) -> list[str]:
        """What an operator should fix (README, "Redis in production")."""
        out: list[str] = []
        if self.durable is False:
            out.append("Redis runs without persistence: a restart empties it")
        elif self.durable is None:
            out.append("Redis persistence unknown: check that it runs with AOF")
        elif not self.aof:
            out.append("Redis keeps RDB snapshots only: a restart loses the writes since the last")
        if self.replicas == 0:
            out.append("Redis has no replica: a lost node takes the data with it")
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "aof": self.aof,
            "rdb_schedule": self.rdb_schedule,
            "replicas": self.replicas,
            "durable": self.durable,
        }


async def probe_persistence(redis: AnyRedis) -> Persistence:
    aof: bool | None = None
    replicas: int | None = None
    schedule: str | None = None
    try:
        info = await redis.info("persistence")
        if "aof_enabled" in info:
            aof = bool(int(info["aof_enabled"]))
    except ResponseError:
        pass
    try:
        repl = await redis.info("replication")
        if "connected_slaves" in repl:
            replicas = int(repl["connected_slaves"])
    except ResponseError:
        pass
    try:
        got = await redis.config_get("save")
        if "save" in got:
            schedule = str(got["save"]).strip()
    except ResponseError:  # managed resources often refuse CONFIG
        pass
    return Persistence(aof, schedule, replicas)
