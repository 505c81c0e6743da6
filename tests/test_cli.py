"""The command line: `bff token` prints a driver token the server accepts."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import jwt

from bff.settings import Settings
from tests.support import ROOT, GraphQLClient, Server


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
