"""The Redis loss watch against a real Redis: a FLUSHDB under live sessions is seen once,
the copied records come back, and without a copy each session is pending until its
provider re-owns it, or unrecoverable when its provider cannot."""

from __future__ import annotations

from redis.asyncio import Redis

from bff.domain.model import Provider
from bff.domain.model import SessionStatus as S
from bff.live.hub import LiveHub
from bff.settings import Settings
from bff.store import keys
from bff.store.records import SessionRecord, SessionRecords
from tests.live.conftest import LIVE_REDIS_URL
from tests.live.support import FakeAdapter, session

PS, PC = Provider.PLUGSURFING, Provider.PLUGCHOICE


def make_hub(rds: Redis, keep: bool) -> tuple[LiveHub, FakeAdapter]:
    settings = Settings(redis_url=LIVE_REDIS_URL, redis_keep_live_records=keep)
    plugsurfing, plugchoice = FakeAdapter(PS), FakeAdapter(PC)
    plugchoice.claimable = False  # type: ignore[misc]  # its token is the only key
    return LiveHub(settings, rds, SessionRecords(rds), {PS: plugsurfing, PC: plugchoice}), \
        plugsurfing


async def two_live(hub: LiveHub) -> dict[Provider, SessionRecord]:
    made = {}
    for p in (PS, PC):
        rec = SessionRecord(provider=p, session_id=f"{p.value}-1", driver_id="d1",
                            charger_id="c1", extra={"token": "t"} if p is PC else {})
        await hub.records.save(rec)
        await hub.record(session(S.CHARGING, 1, id=rec.session_id, provider=p), "d1")
        made[p] = rec
    return made


async def test_a_flush_is_seen_once_and_the_copied_records_come_back(rds: Redis) -> None:
    hub, _ = make_hub(rds, keep=True)
    made = await two_live(hub)
    watch = hub.redis_loss
    await watch.check()
    assert watch.copy.counts() == {"PLUGSURFING": 1, "PLUGCHOICE": 1}
    await rds.flushdb()

    await watch.check()
    await watch.check()
    assert watch.losses == 1
    (event,) = watch.recent()
    assert event.totals() == {"lost": 2, "restored": 2, "recovered": 0, "pending": 0,
                              "unrecoverable": 0}
    for p, rec in made.items():
        assert await hub.records.get(p, rec.session_id) == rec
        assert await rds.zscore(keys.live_set(p), rec.session_id) == 0  # due at once
        assert await hub.records.driver_keys("d1", p)
    report = watch.report()
    assert len(report["degraded"]) == 1  # type: ignore[arg-type]
    assert watch.unreachable_since(PC, made[PC].session_id) is None


async def test_without_a_copy_pending_until_re_owned_and_the_rest_unrecoverable(
    rds: Redis,
) -> None:
    hub, plugsurfing = make_hub(rds, keep=False)
    made = await two_live(hub)
    watch = hub.redis_loss
    await watch.check()
    await rds.flushdb()
    await watch.check()
    (event,) = watch.recent()
    assert event.tally()["pending"] == {"PLUGSURFING": 1}
    assert event.tally()["unrecoverable"] == {"PLUGCHOICE": 1}
    assert watch.unreachable_since(PC, made[PC].session_id) == event.detected_at
    assert await hub.records.get(PC, made[PC].session_id) is None

    # A Plugsurfing webhook names the driver: the session is theirs again.
    sid = made[PS].session_id
    plugsurfing.put("d1", session(S.CHARGING, 2, id=sid))
    await hub.refresh(PS, sid, "d1")
    await watch.check()
    assert event.tally()["recovered"] == {"PLUGSURFING": 1}
    assert event.tally()["pending"] == {}
    assert watch.losses == 1
