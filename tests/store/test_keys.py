"""Every Redis key is named in bff/store/keys.py: unambiguous, and in the slot it should be
in when the BFF runs on Redis Cluster."""

from __future__ import annotations

import pathlib
import re

from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from bff.domain.model import Provider
from bff.store import keys

P = Provider.PLUGSURFING
parts = st.text(alphabet=st.sampled_from("ab:%{}7A3"), max_size=6)
ids = st.text(min_size=1, max_size=12)


def slot(key: str) -> int:
    return int(key_slot(key.encode()))


def test_a_colon_in_a_part_is_not_a_separator() -> None:
    # The collision of issue 12 item 8: driver "cust" + key "k1:k2" vs "cust:k1" + "k2".
    assert keys.start_idempotency("cust", "k1:k2") != keys.start_idempotency("cust:k1", "k2")
    assert keys.start_idempotency("cust", "k1:k2") == "idem:start:{driver:cust}:k1%3Ak2"


def test_ordinary_ids_read_as_they_are() -> None:
    assert keys.connector_cooldown(P, "DE*DRV*E6mayTt", "Q0NTOjE=") == \
        "cooldown:PLUGSURFING:DE*DRV*E6mayTt:Q0NTOjE="
    assert keys.snapshot(keys.session_key(P, "s-1")) == "snap:{PLUGSURFING:s-1}"


@given(a=st.tuples(parts, parts), b=st.tuples(parts, parts))
def test_different_parts_never_make_the_same_key(a: tuple[str, str], b: tuple[str, str]) -> None:
    if a != b:
        assert keys.start_idempotency(*a) != keys.start_idempotency(*b)
        assert keys.connector_cooldown(P, *a) != keys.connector_cooldown(P, *b)
        assert keys.webhook_seen(P, "".join(a)) != keys.webhook_seen(P, "".join(b)) \
            or "".join(a) == "".join(b)


@given(session_id=ids)
def test_a_session_key_reads_back(session_id: str) -> None:
    assert keys.parse_session_key(keys.session_key(P, session_id)) == (P, session_id)


@given(session_id=ids)
def test_a_sessions_keys_and_channel_share_one_slot(session_id: str) -> None:
    # A compare-and-set reads the snapshot and the record and publishes on the channel.
    s = keys.session_key(Provider.ROAMING, session_id)
    named = [keys.snapshot(s), keys.record(s), keys.owner(s), keys.poll_lease(s),
             keys.session_channel(s)]
    assert len({slot(k) for k in named}) == 1


@given(driver=ids, chosen=ids)
def test_a_drivers_keys_share_one_slot_that_a_client_cannot_choose(
    driver: str, chosen: str
) -> None:
    # The idempotency key is the client's: braces in it must not move the key elsewhere.
    named = [keys.driver_index(driver, P), keys.driver_snapshots(driver),
             keys.driver_channel(driver), keys.mutation_rate(driver),
             keys.start_idempotency(driver, chosen), keys.start_idempotency(driver, "{x}")]
    assert len({slot(k) for k in named}) == 1


@given(driver=ids, session_id=ids, chosen=ids)
def test_every_key_is_of_a_listed_kind(driver: str, session_id: str, chosen: str) -> None:
    s = keys.session_key(P, session_id)
    named = {
        "snapshot": keys.snapshot(s), "record": keys.record(s), "owner": keys.owner(s),
        "poll lease": keys.poll_lease(s), "driver index": keys.driver_index(driver, P),
        "driver snapshots": keys.driver_snapshots(driver),
        "mutation rate": keys.mutation_rate(driver),
        "start idempotency": keys.start_idempotency(driver, chosen),
        "connector cooldown": keys.connector_cooldown(P, chosen, session_id),
        "live set": keys.live_set(P), "poll budget": keys.poll_budget(P),
        "webhook seen": keys.webhook_seen(Provider.ROAMING, chosen),
        "persisted query": keys.persisted_query("ab" * 32), "epoch": keys.EPOCH,
    }
    found = {kind: getattr(keys.spec_of(key), "kind", None) for kind, key in named.items()}
    assert found == {kind: kind for kind in named}


def test_no_other_module_builds_a_key() -> None:
    # The prefixes of keys.py, as string literals anywhere else in the package.
    prefixes = ("snap:", "rec:", "owner:", "lease:", "index:", "snaps:", "ch:", "rl:",
                "idem:", "cooldown:", "live:", "budget:", "wh:", "pq:", "bff:epoch")
    alternatives = "|".join(re.escape(p) for p in prefixes)
    literal = re.compile(rf"""f?["']({alternatives})""")
    root = pathlib.Path(keys.__file__).parents[1]
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "keys.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []
