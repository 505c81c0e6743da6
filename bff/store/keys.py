"""Every Redis key and pub/sub channel the BFF uses: its name, its lifetime, its slot.

No other module builds a key string: they call these functions. Each name is
``<kind>:<hash tag>[:<rest>]``, and the variable parts go through :func:`escape`, so a
key reads back unambiguously (driver ``a`` with idempotency key ``b:c`` is not driver
``a:b`` with key ``c``) and an id a client or provider chose cannot pick the Redis
Cluster slot (``{`` and ``}`` never survive into a key).

Hash tags, so that each atomic step on one session or one driver stays in one slot when
the BFF moves to Redis Cluster with sharded pub/sub:

- ``{<PROVIDER>:<session id>}``: a session's snapshot, record, owner hint, poll lease
  and channel (a compare-and-set reads the snapshot and the record together, and
  publishes on the channel);
- ``{driver:<driver id>}``: a driver's session index, recent-snapshot index, channel,
  rate limit and idempotency keys.

Each key (``P`` a provider, ``s`` a session id, ``d`` a driver id): lifetime; hash tag.

- ``snap:{P:s}``: 1 day once final, else 7 days after its last write; session
- ``rec:{P:s}``: none (never evicted: README, Redis in production); session
- ``owner:{P:s}``: 1 day; session
- ``lease:poll:{P:s}``: ``poll_lease_seconds``, cut to 0.8 interval after a poll; session
- channel ``ch:session:{P:s}``; session
- ``index:{driver:d}:P``: none (never evicted); driver
- ``snaps:{driver:d}``: 2 days after its last write (older members trimmed); driver
- channel ``ch:driver:{driver:d}``; driver
- ``rl:mut:{driver:d}``: until the driver's bucket is empty again; driver
- ``idem:start:{driver:d}:<key>``: 60 s pending, then ``idempotency_ttl_seconds``; driver
- ``cooldown:P:<charger>:<connector>``: ``connector_cooldown_seconds``; none (one key)
- ``live:P``: none (members leave when final or given up); none (one key)
- ``budget:poll:P``: 61 s (a sliding one-minute window); none (one key)
- ``watch:P``: ``watch_expiry_seconds`` after a replica last renewed its watchers (each
  member expires by its score too); none (one key)
- ``wh:P:<delivery id>``: 2 x ``webhook_tolerance_seconds`` + 60 s; none (one key)
- ``pq:<sha256>``: ``persisted_queries_ttl_seconds``, none when pinned; none (one key)
- ``bff:epoch``: none (never evicted); none (one key)

Every atomic step stays in one slot on a Redis Cluster (``BFF_REDIS_CLUSTER``); what a
single node does in one MULTI across slots is split there, in an order that keeps
readers right (tests/store/test_keys.py runs each step on a real cluster):

- the snapshot compare-and-set (:mod:`bff.live.snapshots`): WATCH and MULTI on the
  session's slot (snapshot, record read, ``SPUBLISH`` on its channel); then ``live:P``;
  then one MULTI on the driver's slot (``snaps:{driver:d}`` and ``SPUBLISH`` on
  ``ch:driver:{driver:d}``). One MULTI for all of it on one node;
- saving a record (:mod:`bff.store.records`): the record, then the driver's index;
- marking sessions due (``live:P`` and ``owner:{P:s}``) and restoring records: a
  pipeline to each key's node;
- the Redis-loss watch (:mod:`bff.live.livecopy`): the live sets, then ``bff:epoch``;
- batched reads (MGET of snapshots or records, :mod:`bff.store.batch`) and pinning
  persisted queries (MSET): one command per slot (:mod:`bff.store.client`);
- single-key steps (cooldown SET NX, rate-limit and poll-lease scripts, idempotency and
  webhook ids) need nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from bff.domain.model import Provider

DAY = 24 * 3600

#: A final session's snapshot is kept this long after its last write.
SNAPSHOT_FINAL_TTL = DAY
#: A live session's snapshot expires this long after its last write.
SNAPSHOT_LIVE_TTL = 7 * DAY
#: A driver's recent-snapshot index keeps this much history.
DRIVER_SNAPSHOTS_TTL = 2 * DAY
#: The owner of a session marked due before we had its snapshot.
OWNER_TTL = DAY
#: An idempotency key while its start is in flight.
IDEMPOTENCY_PENDING_TTL = 60
#: The poll budget's sliding window, in milliseconds (a minute and a margin).
POLL_BUDGET_TTL_MS = 61_000

# Percent-encoded in a key's variable parts: the separator, the escape itself, and the
# braces of a hash tag. Ordinary ids (letters, digits, ``*``, ``-``, ``=``) read as they are.
_ESCAPES = str.maketrans({"%": "%25", ":": "%3A", "{": "%7B", "}": "%7D"})


def escape(part: str) -> str:
    """One variable part of a key: no ``:``, ``{``, ``}``, and ``%`` only as an escape."""
    return part.translate(_ESCAPES)


def unescape(part: str) -> str:
    return unquote(part)


# -- one session: tag {<provider>:<session id>} ------------------------------------------


def session_key(provider: Provider, session_id: str) -> str:
    """``PLUGSURFING:s1``: names one session in keys (its hash tag), in the members of
    ``snaps:{driver:d}`` and in the process (conflation, dedupe)."""
    return f"{provider.value}:{escape(session_id)}"


def parse_session_key(key: str) -> tuple[Provider, str]:
    provider, _, session_id = key.partition(":")
    return Provider(provider), unescape(session_id)


def snapshot(session: str) -> str:
    """The session's snapshot (``session`` is a :func:`session_key`): see the TTLs above."""
    return f"snap:{{{session}}}"


def record(session: str) -> str:
    """The session's record (owner, charger, a Plugchoice token): no TTL."""
    return f"rec:{{{session}}}"


def owner(session: str) -> str:
    """The driver of a session marked due before we had its snapshot: :data:`OWNER_TTL`."""
    return f"owner:{{{session}}}"


def poll_lease(session: str) -> str:
    """Which replica polls the session this interval: ``poll_lease_seconds``."""
    return f"lease:poll:{{{session}}}"


SESSION_CHANNEL_PREFIX = "ch:session:"


def session_channel(session: str) -> str:
    """Each material change of the session (a snapshot with its record)."""
    return f"{SESSION_CHANNEL_PREFIX}{{{session}}}"


def is_session_channel(channel: str) -> bool:
    return channel.startswith(SESSION_CHANNEL_PREFIX)


# -- one driver: tag {driver:<driver id>} ------------------------------------------------


def _driver_tag(driver_id: str) -> str:
    return f"{{driver:{escape(driver_id)}}}"


def driver_index(driver_id: str, provider: Provider) -> str:
    """Sorted set of the driver's session ids at a provider without a history API, by
    creation time; also the ownership check. No TTL."""
    return f"index:{_driver_tag(driver_id)}:{provider.value}"


def driver_snapshots(driver_id: str) -> str:
    """Sorted set of the driver's :func:`session_key` s by last write, trimmed to
    :data:`DRIVER_SNAPSHOTS_TTL`: what a driver's subscription reads first."""
    return f"snaps:{_driver_tag(driver_id)}"


def driver_channel(driver_id: str) -> str:
    """Each material change of any of the driver's sessions."""
    return f"ch:driver:{_driver_tag(driver_id)}"


def mutation_rate(driver_id: str) -> str:
    """The driver's GCRA bucket (when it is empty again); expires when it is."""
    return f"rl:mut:{_driver_tag(driver_id)}"


def start_idempotency(driver_id: str, idempotency_key: str) -> str:
    """A start's idempotency key: "pending" (:data:`IDEMPOTENCY_PENDING_TTL`), then the
    session it started (``idempotency_ttl_seconds``)."""
    return f"idem:start:{_driver_tag(driver_id)}:{escape(idempotency_key)}"


# -- one provider, one connector, one delivery ---------------------------------------------


def live_set(provider: Provider) -> str:
    """Sorted set of the provider's live session ids by when we last heard of them: the
    pollers' work list and the live copy's source. No TTL."""
    return f"live:{provider.value}"


def poll_budget(provider: Provider) -> str:
    """The provider's polls in the last minute, all replicas: :data:`POLL_BUDGET_TTL_MS`."""
    return f"budget:poll:{provider.value}"


def watchers(provider: Provider) -> str:
    """Sorted set of the provider's watched sessions, every replica's: members
    :func:`watch_member`, scored by when they expire (epoch ms); the pollers read it."""
    return f"watch:{provider.value}"


def watch_member(replica: str, since_ms: int, session_id: str) -> str:
    """One replica's watch of one session since ``since_ms`` (epoch ms): a member of
    :func:`watchers`. Replica ids are ours (hex); the session id is escaped."""
    return f"{replica}:{since_ms}:{escape(session_id)}"


def parse_watch_member(member: str) -> tuple[str, int, str]:
    """``(replica, since_ms, session id)`` of a :func:`watch_member`."""
    replica, since, session_id = member.split(":", 2)
    return replica, int(since), unescape(session_id)


def connector_cooldown(provider: Provider, charger_id: str, connector_id: str) -> str:
    """The connector is blocked after a start: ``connector_cooldown_seconds``."""
    return f"cooldown:{provider.value}:{escape(charger_id)}:{escape(connector_id)}"


def webhook_seen(provider: Provider, delivery_id: str) -> str:
    """A webhook delivery already recorded: :func:`webhook_seen_ttl`."""
    return f"wh:{provider.value}:{escape(delivery_id)}"


def webhook_seen_ttl(tolerance_seconds: int) -> int:
    """Past the signed timestamp's tolerance either way, the timestamp check rejects a
    replay: the id need not be kept longer."""
    return 2 * tolerance_seconds + 60


# -- the whole BFF -----------------------------------------------------------------------


def persisted_query(digest: str) -> str:
    """A persisted query's text under its SHA-256 (hex): ``persisted_queries_ttl_seconds``
    when a client registered it, no TTL when pinned from the operations file."""
    return f"pq:{escape(digest)}"


#: Written once with SET NX by the first replica on an empty Redis; never expires.
EPOCH = "bff:epoch"


# -- the table above, for tests and operators ----------------------------------------------


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One kind of key: how its names look and whether it always has a TTL."""

    kind: str
    pattern: re.Pattern[str]
    expires: bool | None  # None: some do (a pinned persisted query does not)


_PART = r"[^:{}]+"
_SESSION = rf"\{{[A-Z_]+:{_PART}\}}"
_DRIVER = rf"\{{driver:{_PART}\}}"

SPECS: tuple[KeySpec, ...] = tuple(
    KeySpec(kind, re.compile(pattern), expires)
    for kind, pattern, expires in [
        ("snapshot", rf"snap:{_SESSION}", True),
        ("record", rf"rec:{_SESSION}", False),
        ("owner", rf"owner:{_SESSION}", True),
        ("poll lease", rf"lease:poll:{_SESSION}", True),
        ("driver index", rf"index:{_DRIVER}:[A-Z_]+", False),
        ("driver snapshots", rf"snaps:{_DRIVER}", True),
        ("mutation rate", rf"rl:mut:{_DRIVER}", True),
        ("start idempotency", rf"idem:start:{_DRIVER}:{_PART}", True),
        ("connector cooldown", rf"cooldown:[A-Z_]+:{_PART}:{_PART}", True),
        ("live set", r"live:[A-Z_]+", False),
        ("poll budget", r"budget:poll:[A-Z_]+", True),
        ("watchers", r"watch:[A-Z_]+", True),
        ("webhook seen", rf"wh:[A-Z_]+:{_PART}", True),
        ("persisted query", r"pq:[0-9a-f]{64}", None),
        ("epoch", re.escape(EPOCH), False),
    ]
)


def spec_of(key: str) -> KeySpec | None:
    """The kind of a key found in Redis, or None when it is none of ours."""
    return next((s for s in SPECS if s.pattern.fullmatch(key)), None)
