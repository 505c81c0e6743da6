"""Verified tokens are remembered by their whole text until ``exp`` (and for at most
``VERIFIED_MAX_SECONDS``): a remembered token skips the signature check, anything else
(a changed byte, an expired token, a forged one) is verified as before."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

import bff.auth
from bff.auth import DriverAuth
from bff.errors import Unauthenticated
from bff.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens whose signature was checked (``jwt.decode`` calls), in order."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(bff.auth.jwt, "decode", counting)
    return seen


def test_a_verified_token_is_remembered_until_it_expires(decodes: list[str]) -> None:
    clock = Clock()
    auth = DriverAuth(Settings(), clock=clock)
    token = auth.issue("driver-1", ttl_seconds=60)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    decodes.clear()
    assert auth.verify(token)[0] == "driver-1"
    assert auth.verify_header(f"Bearer {token}") == ("driver-1", float(exp))
    assert decodes == [token]
    clock.now = exp  # from exp on, each use is checked again
    assert auth.verify(token)[0] == "driver-1"  # the real clock: still valid
    assert decodes == [token, token]


def test_at_most_the_bound_even_for_a_long_token(decodes: list[str]) -> None:
    clock = Clock()
    auth = DriverAuth(Settings(), clock=clock)
    token = auth.issue("driver-1", ttl_seconds=24 * 3600)
    auth.verify(token)
    clock.now += bff.auth.VERIFIED_MAX_SECONDS - 1
    auth.verify(token)
    assert len(decodes) == 1
    clock.now += 1
    auth.verify(token)
    assert len(decodes) == 2


async def test_a_changed_or_bad_token_is_never_taken_on_its_word(decodes: list[str]) -> None:
    auth = DriverAuth(Settings())
    token = auth.issue("driver-1", ttl_seconds=60)
    await auth.authenticate(f"Bearer {token}")
    head, body, sig = token.split(".")
    forged_sig = f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    claims = {"sub": "driver-2", "exp": int(time.time()) + 60}
    forged = jwt.encode(claims, "another-secret-0123456789abcdefghijkl")
    expired = auth.issue("driver-1", ttl_seconds=-60)
    for bad in (forged_sig, forged, expired):
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                auth.verify(bad)
            with pytest.raises(Unauthenticated):
                await auth.authenticate(f"Bearer {bad}")
    assert decodes.count(token) == 1
    assert [decodes.count(b) for b in (forged_sig, forged, expired)] == [4, 4, 4]


def test_the_oldest_token_goes_first_past_the_size(
    decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bff.auth, "VERIFIED_MAX", 2)
    auth = DriverAuth(Settings())
    a, b, c = (auth.issue(d, ttl_seconds=60) for d in ("a", "b", "c"))
    for t in (a, b, a, c, a, b):  # c pushes out b (a was used since)
        auth.verify(t)
    assert [decodes.count(t) for t in (a, b, c)] == [1, 2, 1]
