"""The live bus on a Redis Cluster: sharded pub/sub, one subscriber connection per master.

Classic ``PUBLISH`` on a cluster is broadcast to every node, so adding nodes adds no
capacity. ``SPUBLISH`` stays in the shard of its channel's slot, and a channel's slot is
its hash tag's (:mod:`bff.store.keys`): a session's channel lives with its snapshot and
record, so the compare-and-set and its publish stay one MULTI; a driver's channel lives
with the driver's index. The slots are the fixed partitions of the bus: 16,384 of them,
each channel in the one its tag names, each served by one master.

:class:`ClusterBroker` is the :class:`~bff.live.broker.RedisBroker` with one
:class:`~bff.live.broker.Link` per master (a process holds as many subscriber
connections as the cluster has masters, whatever its subscribers), each holding the
channels of that master's slots (``SSUBSCRIBE``, one command per slot). The map of
slots to masters is read with ``CLUSTER SLOTS`` from any node that answers, and read
again when:

- a master unsubscribes us unasked (``sunsubscribe``: its slot moved away) or refuses an
  ``SSUBSCRIBE`` (``MOVED``);
- a connection is lost or cannot be made (a master died), and then every
  ``failover_poll`` seconds until every master in the map is connected again, so a
  promoted replica is found within about that of its promotion.

A channel that moves to another connection, or whose connection was lost, is subscribed
again there, and its listeners are told to ``RESYNC`` once Redis confirms it: they re-read
the snapshots (:mod:`bff.live.watch`), so none misses the newest state.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import RedisError, ResponseError

from bff.live.broker import Link, RedisBroker
from bff.tasks import stop

log = logging.getLogger(__name__)

#: Seconds between reads of the slot map while a master is unreachable.
FAILOVER_POLL = 0.2


class ClusterBroker(RedisBroker):
    """Sharded pub/sub over a :class:`RedisCluster`; ``url`` names any of its nodes."""

    SUBSCRIBE, UNSUBSCRIBE = "SSUBSCRIBE", "SUNSUBSCRIBE"
    MESSAGE, SUBSCRIBED, UNSUBSCRIBED = "smessage", "ssubscribe", "sunsubscribe"

    def __init__(
        self,
        redis: RedisCluster,
        url: str,
        *,
        failover_poll: float = FAILOVER_POLL,
        **options: Any,
    ) -> None:
        super().__init__(redis, url, **options)
        self._cluster = redis
        self._failover_poll = failover_poll
        self._slots: list[str | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        self._map_wanted = asyncio.Event()
        self._mapper: asyncio.Task[None] | None = None
        self.map_reads = 0

    @property
    def masters(self) -> frozenset[str]:
        """``host:port`` of the masters in the slot map."""
        return frozenset(self._links)

    async def _open_links(self) -> None:
        try:
            await self._read_map()
        except (RedisError, OSError) as exc:
            log.warning("cluster slot map not read yet (%s); retrying", exc)
        self._mapper = asyncio.create_task(self._map_loop(), name="redis-broker-slots")
        self._map_wanted.set()

    async def aclose(self) -> None:
        if self._mapper is not None:
            await stop(self._mapper)
            self._mapper = None
        await super().aclose()

    # -- routing -----------------------------------------------------------------------

    def _route(self, channel: str) -> Link | None:
        name = self._slots[key_slot(channel.encode())]
        return self._links.get(name) if name is not None else None

    def _batches(self, channels: set[str]) -> list[list[str]]:
        by_slot: dict[int, list[str]] = {}
        for ch in sorted(channels):
            by_slot.setdefault(key_slot(ch.encode()), []).append(ch)
        return list(by_slot.values())

    # -- when the map may have changed ----------------------------------------------------

    def _connect_failed(self, link: Link) -> None:
        self._map_wanted.set()

    def _connection_lost(self, link: Link) -> None:
        self._map_wanted.set()

    def _dropped_by_server(self, link: Link, channel: str) -> None:
        # Its slot moved away: subscribe again once we know where it went.
        link.told.discard(channel)
        link.confirmed.discard(channel)
        self._resync_on_confirm.add(channel)
        log.info("pub/sub: %s dropped %s (slot moved); reading the slot map", link.name, channel)
        self._map_wanted.set()

    def _refused(self, link: Link, exc: ResponseError) -> None:
        # Which SSUBSCRIBE was refused is not said: ask again for whatever is unconfirmed.
        link.told -= link.told - link.confirmed
        log.info("pub/sub: %s refused a subscription (%s); reading the slot map", link.name, exc)
        self._map_wanted.set()

    async def _map_loop(self) -> None:
        while True:
            await self._map_wanted.wait()
            self._map_wanted.clear()
            try:
                await self._read_map()
            except (RedisError, OSError) as exc:
                log.warning("cluster slot map not read (%s)", exc)
                self._map_wanted.set()
            if not self._map_wanted.is_set() and all(
                link.up.is_set() for link in self._links.values()
            ):
                continue
            await asyncio.sleep(self._failover_poll)
            self._map_wanted.set()

    async def _read_map(self) -> None:
        """Read ``CLUSTER SLOTS`` and follow it: a connection per master, every channel
        routed to its slot's master."""
        ranges = await self._cluster_slots()
        self.map_reads += 1
        table: list[str | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        masters: set[str] = set()
        for (start, end), info in ranges.items():
            host, port = info["primary"][0], int(info["primary"][1])
            name = f"{host}:{port}"
            masters.add(name)
            if name not in self._links and not self._closed:
                self._add_link(Link(name, _node_url(self._url, host, port)))
            table[int(start) : int(end) + 1] = [name] * (int(end) - int(start) + 1)
        if table == self._slots and masters == set(self._links):
            return
        log.info("cluster slot map: %d masters (%s)", len(masters), ", ".join(sorted(masters)))
        self._slots = table
        self._reroute()
        for name in set(self._links) - masters:
            await self._drop_link(self._links[name])

    async def _cluster_slots(self) -> dict[Any, Any]:
        """``CLUSTER SLOTS`` from the first node that answers (masters we hold first)."""
        nodes: list[ClusterNode] = sorted(
            self._cluster.get_nodes(),
            key=lambda n: not (n.name in self._links and self._links[n.name].up.is_set()),
        )
        error: Exception = RedisError("no cluster node known")
        for node in nodes:
            try:
                async with asyncio.timeout(2.0):
                    got = await self._cluster.cluster_slots(target_nodes=node)
            except (RedisError, OSError, TimeoutError) as exc:
                error = exc
                continue
            if isinstance(got, dict) and got and all(isinstance(k, tuple) for k in got):
                return got
        raise error if isinstance(error, RedisError | OSError) else RedisError(str(error))


def _node_url(seed: str, host: str, port: int) -> str:
    """The seed node's URL (scheme, credentials, options) for another node."""
    parts = urlsplit(seed)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{host}:{port}" if auth else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
