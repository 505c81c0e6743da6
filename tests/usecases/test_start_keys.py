"""The Redis keys a start builds from parts that drivers and providers choose."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bff.usecases.start import redis_key

parts = st.text(alphabet=st.sampled_from("ab:%{}7A3"), max_size=6)


def test_a_colon_in_a_part_is_not_a_separator() -> None:
    # The collision of issue 12 item 8: driver "cust" + key "k1:k2" vs "cust:k1" + "k2".
    assert redis_key("idem", "start", "cust", "k1:k2") != redis_key("idem", "start", "cust:k1",
                                                                    "k2")
    assert redis_key("idem", "start", "cust", "k1:k2") == "idem:start:cust:k1%3Ak2"


def test_ordinary_ids_read_as_they_are() -> None:
    assert redis_key("PLUGSURFING", "DE*DRV*E6mayTt", "Q0NTOjE=") == \
        "PLUGSURFING:DE*DRV*E6mayTt:Q0NTOjE="


def test_a_part_cannot_choose_a_cluster_hash_slot() -> None:
    key = redis_key("idem", "start", "{victim}", "k")
    assert "{" not in key and "}" not in key


@given(a=st.lists(parts, min_size=1, max_size=4), b=st.lists(parts, min_size=1, max_size=4))
def test_different_parts_never_make_the_same_key(a: list[str], b: list[str]) -> None:
    if a != b:
        assert redis_key(*a) != redis_key(*b)
