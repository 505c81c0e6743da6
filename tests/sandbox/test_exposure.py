"""What the sandboxes expose (issue 18): their unauthenticated ``/_control`` routes only on a
loopback address or when asked for, and their special driver ids ("3ds...", "debt...")
honoured by the simulators alone, never by the BFF's own provider code."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

import httpx
import pytest

from bff.sandbox.server import sandbox_config
from bff.settings import Settings
from tests.conftest import FAST_ENV
from tests.e2e.flows import WARSAW, chargers
from tests.support import ROOT, GraphQLClient, Server

PROVIDERS = ("plugsurfing", "plugchoice", "roaming")
CONTROL = "/_control/stats"


@pytest.mark.parametrize(("host", "on"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("::", False), ("", False),
    ("10.1.2.3", False), ("bff.internal", False),
])
def test_control_routes_follow_the_listening_address(host: str, on: bool) -> None:
    assert Settings(host=host).sandbox_control_on() is on
    assert sandbox_config(Settings(), host).control is on  # bff sandbox --host
    assert Settings(host=host, sandbox_control=True).sandbox_control_on()
    assert not Settings(host=host, sandbox_control=False).sandbox_control_on()


def dockerfile_runtime_env() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    runtime = re.split(r"^FROM ", text, flags=re.MULTILINE)[-1]
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", runtime, re.MULTILINE):
        env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


def test_the_image_default_mounts_no_control_routes() -> None:
    env = dockerfile_runtime_env()
    assert env.get("BFF_HOST") == "0.0.0.0", env
    settings = Settings(**{k.removeprefix("BFF_").lower(): v for k, v in env.items()
                           if k.startswith("BFF_") and k != "BFF_PORT"})
    assert not settings.sandbox_control_on()


@pytest.fixture(scope="module")
def closed() -> Iterator[Server]:
    """A server whose sandboxes mount no control routes (as on a public address)."""
    srv = Server({**FAST_ENV, "BFF_SANDBOX_CONTROL": "false"})
    srv.start()
    yield srv
    srv.stop()


async def test_without_control_routes_the_sandboxes_still_serve(
        closed: Server, server: Server) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for name in PROVIDERS:
            shut = await http.get(f"{closed.url}/_sandbox/{name}{CONTROL}")
            assert shut.status_code == 404, (name, shut.text)
            shut = await http.post(f"{closed.url}/_sandbox/{name}/_control/reset")
            assert shut.status_code in (404, 405), (name, shut.text)
            # The same route on a loopback server with the default setting: there.
            there = await http.get(f"{server.url}/_sandbox/{name}{CONTROL}")
            assert there.status_code == 200, (name, there.text)
    client = GraphQLClient(closed, closed.token("exposure-driver"))
    try:
        found = await chargers(client, WARSAW)  # the simulator's own API still answers
    finally:
        await client.aclose()
    assert found and {c["provider"] for c in found} == {"PLUGSURFING"}


SPECIAL = re.compile(r"^(3ds|debt)")


def test_special_driver_ids_are_the_sandboxes_alone() -> None:
    """A driver id starting "3ds" or "debt" changes what the Plugsurfing sandbox does; no
    module outside bff/sandbox may look at such a prefix, or live drivers with those ids
    would be treated as test cases."""
    bff = ROOT / "bff"
    seen_in_sandbox = []
    found = []
    for path in sorted(bff.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and SPECIAL.match(node.value):
                where = f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
                (seen_in_sandbox if path.is_relative_to(bff / "sandbox") else found).append(where)
    assert len(seen_in_sandbox) >= 2, "the check no longer sees the sandbox's own prefixes"
    assert not found, found
