"""Errors are masked: a resolver that fails unexpectedly answers "Internal server error"
(INTERNAL_SERVER_ERROR) with no internals, over HTTP and on the websocket; the details
go to the log only. The app runs in-process (providers: the shared server's sandbox) so
that a part of it can be made to fail for real."""

from __future__ import annotations

import json
import logging
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bff import ids
from bff.app import create_app
from bff.domain.model import Provider
from bff.settings import Settings
from tests.conftest import REDIS_URL
from tests.figures import Figures
from tests.support import Server, contract_operations

with warnings.catch_warnings():  # Starlette would rather have httpx2, which we lack
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = "db-password=hunter2 at /srv/bff/internal.py"
NEAR = {"near": {"latitude": 52.290056, "longitude": 20.907028}, "radiusMeters": 500}


def fail(*_: Any, **__: Any) -> Any:
    raise RuntimeError(SECRET)


@asynccontextmanager
async def failing_watch(*_: Any, **__: Any) -> AsyncIterator[Any]:
    raise RuntimeError(SECRET)
    yield  # pragma: no cover


@pytest.fixture
def app_client(server: Server) -> Iterator[TestClient]:
    settings = Settings(redis_url=REDIS_URL, sandbox_url=f"{server.url}/_sandbox",
                        poll_interval_seconds=3600)
    with TestClient(create_app(settings)) as tc:
        yield tc


def assert_masked(errors: list[dict[str, Any]]) -> None:
    text = json.dumps(errors)
    assert [e["message"] for e in errors] == ["Internal server error"], errors
    assert [e["extensions"] for e in errors] == [{"code": "INTERNAL_SERVER_ERROR"}], errors
    for leak in ("hunter2", "RuntimeError", "Traceback", "internal.py", "stacktrace"):
        assert leak not in text, errors


def test_unexpected_errors_are_masked(
    app_client: TestClient, server: Server, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, figures: Figures,
) -> None:
    ops = contract_operations()
    driver = f"mask-{uuid.uuid4().hex[:6]}"
    headers = {"authorization": f"Bearer {server.token(driver)}"}
    session_id = ids.encode(ids.SESSION, Provider.PLUGSURFING, "x")
    resources = app_client.app.state.resources  # type: ignore[attr-defined]
    monkeypatch.setattr("bff.graphql.schema.queries.nearby_chargers", fail)
    monkeypatch.setattr("bff.usecases.actions.require_session", fail)
    monkeypatch.setattr(resources.hub, "watch_driver", failing_watch)
    checked = 0
    with caplog.at_level(logging.ERROR):
        r = app_client.post("/graphql", headers=headers, json={
            "query": ops["NearbyChargers"], "variables": NEAR})
        assert r.status_code == 200 and r.json()["data"] is None
        assert_masked(r.json()["errors"])
        checked += 1
        r = app_client.post("/graphql", headers=headers, json={
            "query": ops["StopSession"], "variables": {"id": session_id}})
        assert r.status_code == 200
        assert_masked(r.json()["errors"])
        checked += 1
        with app_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]
                                          ) as ws:
            ws.send_json({"type": "connection_init", "payload": headers})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe",
                          "payload": {"query": ops["MySessions"]}})
            msg = ws.receive_json()
            while msg["type"] == "ping":
                msg = ws.receive_json()
            errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
            assert_masked(errors)
            checked += 1
        # Validation errors stay readable.
        r = app_client.post("/graphql", headers=headers, json={"query": "{ nope }"})
        assert r.json()["errors"][0]["message"].startswith("Cannot query field 'nope'")
    logged = "\n".join(f"{rec.getMessage()} {rec.exc_text or ''}" for rec in caplog.records)
    assert SECRET in logged, "the details are in the log"
    # At ERROR with the traceback, where it is masked (not again by Strawberry's logger).
    told = [rec for rec in caplog.records if SECRET in f"{rec.getMessage()} {rec.exc_text}"]
    assert {rec.name for rec in told} == {"bff.graphql.engine.errors"}, [rec.name for rec in told]
    assert all(rec.levelno == logging.ERROR and rec.exc_info for rec in told)
    figures(f"masked errors: {checked} failing paths (query, mutation, subscription) answered "
            f"INTERNAL_SERVER_ERROR with no internals")
