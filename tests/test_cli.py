"""The command line: `bff token` prints a driver token the server accepts; `bff sandbox`
serves the sandboxes with the BFF's own secrets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from pydantic import ValidationError

from bff.settings import Settings
from tests.conftest import FAST_ENV
from tests.e2e.flows import HELSINKI, WARSAW, connector, start
from tests.figures import Figures
from tests.observability.scrape import parse
from tests.support import (
    ROOT,
    GraphQLClient,
    Server,
    WsSubscription,
    free_port,
    subscribe,
    wait_for,
)


def test_token_command_prints_a_token_for_the_dev_secret() -> None:
    out = subprocess.run([sys.executable, "-m", "bff", "token", "--user", "driver-7"],
                         capture_output=True, check=True, cwd=ROOT)
    token = out.stdout.decode().strip()
    claims = jwt.decode(token, Settings().jwt_secret.get_secret_value(), algorithms=["HS256"])
    assert claims["sub"] == "driver-7" and claims["exp"] > claims["iat"]


async def test_the_server_accepts_it(server: Server) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bff", "token", "--user", "cli-driver",
        stdout=asyncio.subprocess.PIPE, cwd=ROOT, env=server.env,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    client = GraphQLClient(server, out.decode().strip())
    try:
        data = await client.execute("{ viewer { id } }")
    finally:
        await client.aclose()
    assert data == {"data": {"viewer": {"id": "cli-driver"}}}


def test_unknown_command_is_a_usage_error() -> None:
    out = subprocess.run([sys.executable, "-m", "bff", "nope"], capture_output=True, cwd=ROOT)
    assert out.returncode == 2 and b"usage" in out.stderr


# -- live mode refuses the shipped secrets ------------------------------------------------

LIVE_URLS = {"BFF_PROVIDERS": "live", "BFF_PLUGSURFING_URL": "http://127.0.0.1:9/ps",
             "BFF_PLUGCHOICE_URL": "http://127.0.0.1:9/pc", "BFF_ROAMING_URL": "http://127.0.0.1:9/r"}
OWN_SECRETS = {
    "BFF_JWT_SECRET": "own-jwt-secret-0123456789abcdef0123456789",
    "BFF_PLUGSURFING_CLIENT_SECRET": "own-client-secret",
    "BFF_PLUGSURFING_WEBHOOK_AUTH": "own-webhook-auth",
    "BFF_ROAMING_JWT_SECRET": "own-roaming-jwt-secret-0123456789",
    "BFF_ROAMING_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"own-roaming-secret").decode(),
}


def _serve_live(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BFF_")}
    try:
        return subprocess.run(
            [sys.executable, "-m", "bff", "serve", "--port", str(free_port())],
            env={**clean, **LIVE_URLS, "BFF_WORKERS": "1", **env}, capture_output=True,
            text=True, cwd=ROOT, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("bff serve started (still running after 30 s) instead of refusing")


@pytest.mark.parametrize("shipped", sorted(OWN_SECRETS))
def test_live_mode_refuses_to_start_with_a_shipped_secret(shipped: str) -> None:
    out = _serve_live({k: v for k, v in OWN_SECRETS.items() if k != shipped})
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.startswith("bff: invalid settings: BFF_PROVIDERS=live"), out.stderr
    assert shipped in out.stderr and "Traceback" not in out.stderr
    assert not [k for k in OWN_SECRETS if k != shipped and k in out.stderr], out.stderr
    default = type(Settings()).model_fields[shipped.removeprefix("BFF_").lower()].default
    assert default.get_secret_value() not in out.stderr  # named, never shown


def test_live_mode_asks_only_for_the_secrets_it_uses() -> None:
    # Tokens checked with the identity provider's keys; Plugsurfing by API key; no roaming.
    Settings(providers="live", jwt_jwks_url="https://id.test/jwks", plugsurfing_url="https://ps.test",
             plugsurfing_api_key="key", plugsurfing_webhook_auth="own", plugchoice_url="https://pc.test")
    with pytest.raises(ValidationError, match="BFF_PLUGSURFING_WEBHOOK_AUTH"):
        Settings(providers="live", jwt_jwks_url="https://id.test/jwks",
                 plugsurfing_url="https://ps.test", plugsurfing_api_key="key")
    Settings(providers="sandbox")  # the sandbox's own secrets are its defaults


def test_other_bad_settings_are_named_without_a_traceback() -> None:
    out = _serve_live({"BFF_PROVIDERS": "sandbox", "BFF_WORKERS": "many"})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("bff: invalid settings: BFF_WORKERS: "), out.stderr


# -- bff sandbox ---------------------------------------------------------------------------

#: Not the defaults: a sandbox shared by replicas that ignored them would sign with its own.
SHARED_SECRETS = {
    "BFF_ROAMING_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"replicas-shared-secret").decode(),
    "BFF_PLUGSURFING_WEBHOOK_AUTH": "replicas-shared-webhook-auth",
}


@contextlib.contextmanager
def sandbox_process(env: dict[str, str]) -> Iterator[str]:
    """``bff sandbox`` as its own process; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (ROOT / "var" / f"sandbox-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "bff", "sandbox", "--port", str(port)],
                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                            cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "no sandbox"
            try:
                if httpx.get(f"{url}/plugsurfing/_control/stats", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


async def test_a_shared_sandbox_signs_webhooks_with_the_configured_secrets(
    redis_url: str, figures: Figures
) -> None:
    port = free_port()
    # Only webhooks move the sessions: the BFF never polls.
    quiet = {**FAST_ENV, **SHARED_SECRETS, "BFF_POLL_INTERVAL_SECONDS": "3600",
             "BFF_QUIET_POLL_AFTER_SECONDS": "3600"}
    with sandbox_process({**quiet, "BFF_PUBLIC_URL": f"http://127.0.0.1:{port}"}) as sandbox:
        server = Server({**quiet, "BFF_SANDBOX_URL": sandbox}, port=port)
        server.start()
        client = GraphQLClient(server, server.token(f"shared-{uuid.uuid4().hex[:6]}"))
        try:
            for provider, point, evse in (("PLUGSURFING", WARSAW, None),
                                          ("ROAMING", HELSINKI, "FI-VRT-E12345")):
                started = await start(client, await connector(client, point, evse=evse))
                assert started["__typename"] == "StartSessionSuccess", started
                answered = await wait_for(lambda p=provider: _webhooks(client, p), 30, 0.1,
                                          f"the BFF to answer a {provider} webhook")
                # 401 when the sandbox signs with its defaults instead of the settings.
                assert set(answered) == {"200"}, (provider, answered)
                async with subscribe(server, client.token, client.ops["LiveSession"],
                                     {"id": started["session"]["id"]}, "LiveSession") as sub:
                    await _until(sub, "CHARGING", 30)
                figures(f"bff sandbox shared by replicas, non-default secrets: {provider} "
                        f"webhooks answered {answered}; the session reached CHARGING by "
                        "webhook alone")
        finally:
            await client.aclose()
            server.stop()


async def _webhooks(client: GraphQLClient, provider: str) -> dict[str, int]:
    """The statuses the BFF answered ``provider``'s webhooks with, and how often."""
    samples = parse((await client.http.get("/metrics")).text)
    return {lab["status"]: int(v) for name, lab, v in samples
            if name == "bff_webhooks_total" and lab["provider"] == provider}


async def _until(sub: WsSubscription, status: str, timeout: float) -> None:
    """Read the subscription until the session shows ``status``, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        payload = await sub.next(max(0.1, deadline - time.monotonic()))
        assert not payload.get("errors"), payload
        if payload["data"]["sessionUpdated"]["status"] == status:
            return
