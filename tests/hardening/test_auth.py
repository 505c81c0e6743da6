"""Driver auth with an identity provider's JWKS (RS256, ES256): a local JWKS server on
127.0.0.1, a BFF that reads it, and tokens good and bad over HTTP and the websocket."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.errors import Unauthenticated
from bff.jwks import JwksCache
from bff.settings import Settings
from tests.conftest import FAST_ENV
from tests.figures import Figures
from tests.hardening.support import close_code, error_codes, local_http, ws_message, ws_open
from tests.support import GraphQLClient, Server, wait_for

ISSUER = "https://id.example.test/"
AUDIENCE = "charging-app"
VIEWER = "{ viewer { id } }"


class IdentityProvider:
    """Signing keys and the JWKS document that publishes their public halves."""

    def __init__(self) -> None:
        self.private: dict[str, Any] = {}
        self.published: list[dict[str, Any]] = []
        self.fetches = 0
        self.add("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048))
        self.add("ec-1", ec.generate_private_key(ec.SECP256R1()))
        self.add("enc-1", ec.generate_private_key(ec.SECP256R1()), use="enc")

    def add(self, kid: str, key: Any, use: str = "sig") -> None:
        self.private[kid] = key
        if isinstance(key, rsa.RSAPrivateKey):
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            alg = "RS256"
        else:
            jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
            alg = "ES256"
        self.published.append({**jwk, "kid": kid, "use": use, "alg": alg})

    def alg(self, kid: str) -> str:
        return "RS256" if isinstance(self.private[kid], rsa.RSAPrivateKey) else "ES256"

    def token(self, sub: str = "", *, kid: str = "rsa-1", sign_with: str | None = None,
              ttl: int = 600, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {"sub": sub or f"jwks-{uuid.uuid4().hex[:8]}", "iat": now,
                                "exp": now + ttl, "iss": ISSUER, "aud": AUDIENCE, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        key = self.private[sign_with or kid]
        return jwt.encode(body, key, algorithm=self.alg(sign_with or kid), headers={"kid": kid})

    async def jwks(self, _: Request) -> Response:
        self.fetches += 1
        return JSONResponse({"keys": self.published})


@pytest.fixture(scope="module")
def idp() -> IdentityProvider:
    return IdentityProvider()


@pytest.fixture(scope="module")
async def jwks_url(idp: IdentityProvider) -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/.well-known/jwks.json", idp.jwks)])
    async with local_http(app) as base:
        yield f"{base}/.well-known/jwks.json"


@pytest.fixture(scope="module")
def jwks_server(redis_url: str, jwks_url: str) -> Iterator[Server]:
    srv = Server({**FAST_ENV, "BFF_JWT_JWKS_URL": jwks_url, "BFF_JWT_ISSUER": ISSUER,
                  "BFF_JWT_AUDIENCE": AUDIENCE, "BFF_JWT_JWKS_MIN_REFRESH_SECONDS": "0.5",
                  "BFF_JWT_LEEWAY_SECONDS": "0"})
    srv.start()
    yield srv
    srv.stop()


async def viewer(server: Server, token: str | None) -> dict[str, Any]:
    c = GraphQLClient(server, token)
    try:
        return await c.execute(VIEWER)
    finally:
        await c.aclose()


async def test_rs256_and_es256_tokens_from_the_jwks_are_accepted(
    jwks_server: Server, idp: IdentityProvider, figures: Figures
) -> None:
    for kid in ("rsa-1", "ec-1"):
        token = idp.token(f"driver-{kid}", kid=kid)
        body = await viewer(jwks_server, token)
        assert body == {"data": {"viewer": {"id": f"driver-{kid}"}}}, body
    # Many requests later, the key set was read once (cached for its TTL).
    for _ in range(20):
        assert "errors" not in await viewer(jwks_server, idp.token(kid="ec-1"))
    assert idp.fetches == 1, idp.fetches
    figures(f"jwks: RS256 and ES256 accepted; 22 requests, {idp.fetches} JWKS read")


def bad_tokens(idp: IdentityProvider) -> dict[str, str]:
    now = int(time.time())
    rsa_public_pem = idp.private["rsa-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    dev = Settings().jwt_secret.get_secret_value()
    return {
        "unknown kid": idp.token(kid="rsa-9", sign_with="rsa-1"),
        "forged (kid of one key, signed by another)": idp.token(kid="rsa-1", sign_with="ec-1"),
        "encryption key": idp.token(kid="enc-1"),
        "expired": idp.token(ttl=-60),
        "nbf in the future": idp.token(nbf=now + 600),
        "wrong issuer": idp.token(iss="https://evil.example/"),
        "no issuer": idp.token(iss=None),
        "wrong audience": idp.token(aud="someone-else"),
        "no audience": idp.token(aud=None),
        "no exp": idp.token(exp=None),
        "HS256 with the dev secret": jwt.encode(
            {"sub": "x", "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE}, dev,
            algorithm="HS256", headers={"kid": "rsa-1"}),
        "HS256 keyed with the RSA public key": _hs256_raw(
            {"sub": "x", "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE}, rsa_public_pem),
        "alg none": jwt.encode({"sub": "x", "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE},
                               None, algorithm="none", headers={"kid": "rsa-1"}),
        "not a JWT": "not-a-token",
        "tampered payload": _tamper(idp.token("victim")),
    }


def _hs256_raw(claims: dict[str, Any], secret: bytes) -> str:
    """HS256 keyed with a public key (pyjwt refuses to; an attacker would not)."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = b64(hmac.new(secret, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


def _tamper(token: str) -> str:
    import base64

    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


async def test_bad_tokens_are_unauthenticated(
    jwks_server: Server, idp: IdentityProvider, figures: Figures
) -> None:
    cases = bad_tokens(idp)
    fetches = idp.fetches
    for name, token in cases.items():
        body = await viewer(jwks_server, token)
        assert body["data"] is None and error_codes(body) == ["UNAUTHENTICATED"], (name, body)
        assert "Traceback" not in json.dumps(body)
    # Made-up kids re-read the key set at most every BFF_JWT_JWKS_MIN_REFRESH_SECONDS.
    assert idp.fetches - fetches <= 2, idp.fetches - fetches
    figures(f"jwks: {len(cases)} kinds of bad token, UNAUTHENTICATED: {len(cases)}, "
            f"accepted: 0")


async def test_a_rotated_key_is_picked_up(jwks_server: Server, idp: IdentityProvider) -> None:
    idp.add("ec-2", ec.generate_private_key(ec.SECP256R1()))
    token = idp.token("rotated", kid="ec-2")

    async def accepted() -> bool:
        return "errors" not in await viewer(jwks_server, token)

    await wait_for(accepted, 5, 0.1, "the new key to be accepted")


async def test_the_websocket_checks_the_same_tokens(
    jwks_server: Server, idp: IdentityProvider
) -> None:
    good = await ws_open(jwks_server, idp.token("ws-driver", kid="ec-1"))
    try:
        assert (await ws_message(good))["type"] == "connection_ack"
    finally:
        await good.close()
    for token in (idp.token(ttl=-60), idp.token(kid="rsa-9", sign_with="rsa-1"),
                  idp.token(aud="x")):
        ws = await ws_open(jwks_server, token)
        assert await close_code(ws) == 4403
    # A token that expires while the socket is open: closed with 4403, reconnect.
    # The close is the event waited for (bounded); it must not come before the expiry
    # (leeway 0 on this server), however slow the machine.
    token = idp.token("short", kid="rsa-1", ttl=2)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    short = await ws_open(jwks_server, token)
    assert (await ws_message(short))["type"] == "connection_ack"
    assert await close_code(short, timeout=20) == 4403
    assert time.time() >= expires - 0.5, "closed before the token expired"


async def test_jwks_cache_keeps_keys_when_the_provider_fails(
    jwks_url: str, idp: IdentityProvider
) -> None:
    now = [0.0]
    async with httpx.AsyncClient() as http:
        cache = JwksCache(jwks_url, http, ttl=60, min_refresh=5, clock=lambda: now[0])
        assert (await cache.key("ec-1")).key_id == "ec-1"
        cache.url = jwks_url.replace("jwks.json", "gone")  # the provider answers 404
        now[0] = 61.0  # past the TTL: re-read, fail, keep the keys
        assert (await cache.key("rsa-1")).key_id == "rsa-1"
        assert cache.fetches == 2
        with pytest.raises(Unauthenticated):
            await cache.key("nope")
        assert cache.fetches == 2, "no re-read within min_refresh"
        now[0] = 67.0
        cache.url = jwks_url
        results = await asyncio.gather(*(cache.key("ec-1") for _ in range(10)))
        assert {r.key_id for r in results} == {"ec-1"} and cache.fetches == 3, "one shared read"
