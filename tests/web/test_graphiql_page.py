"""The BFF's own GraphiQL in headless Chromium, on a machine with no internet (issue 8)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support import ROOT, Server
from tests.web.support import require, run_node

SHOTS = ROOT / "var"


def test_page_runs_queries_and_subscriptions_from_local_files(own_server: Server) -> None:
    server = own_server
    tools = require(browser=True)
    SHOTS.mkdir(exist_ok=True)
    token = server.token(f"driver-web-{uuid.uuid4().hex[:10]}")
    proc = run_node(
        [tools["node"], "tests/web/graphiql_page.mjs"],
        {
            "BFF_URL": server.url,
            "BFF_TOKEN": token,
            "CHROMIUM": tools["chromium"],
            "SCREENSHOT_DIR": str(SHOTS),
        },
        timeout=60,
    )
    assert proc.stdout.strip(), f"no report from the browser script\n{proc.stderr}"
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    context = json.dumps({k: v for k, v in report.items() if k != "nearby"}, indent=1)[:6000]
    assert proc.returncode == 0 and "error" not in report, f"{context}\n{proc.stderr[-3000:]}"

    # Everything came from this server, and nothing failed.
    hosts = {urlsplit(u).hostname for u in report["requests"]}
    assert hosts == {"127.0.0.1"}, report["requests"]
    assert any("/static/vendor/graphiql.min.js" in u for u in report["requests"])
    assert not report["failed"] and not report["badResponses"], context
    assert not report["pageErrors"], report["pageErrors"]
    assert report["status"] == 200

    # The contract's operations are the tabs; the headers editor prompts for a token.
    assert report["tabs"][:2] == ["NearbyChargers", "SessionHistory"]
    assert {"LiveSession", "MySessions", "StartSession"} <= set(report["tabs"])
    assert json.loads(report["initialHeaders"]) == {
        "Authorization": "Bearer <paste a token from: bff token --user driver-1>"
    }

    # NearbyChargers in the result pane.
    edges = report["nearby"]["data"]["chargers"]["edges"]
    assert edges and all(e["node"]["distanceMeters"] <= 500 for e in edges)
    assert {e["node"]["provider"] for e in edges} >= {"PLUGSURFING"}

    # LiveSession over graphql-transport-ws, authorised by the headers editor's token.
    assert report["wsInit"] == {"authorization": f"Bearer {token}"}
    nexts = [m for m in report["wsFrames"] if m["type"] == "next"]
    assert len(nexts) >= 2, report["wsFrames"]
    updates = report["updates"]
    assert len(updates) >= 2 and all("errors" not in u for u in updates), updates
    assert {u["status"] for u in updates} <= {"STARTING", "CHARGING"}
    charging = [u["wattHours"] for u in updates if u["status"] == "CHARGING"]
    assert charging and charging[-1] > 0 and charging == sorted(charging), updates
    for shot in report["screenshots"]:
        assert (ROOT / shot).stat().st_size > 10_000


async def test_page_without_installed_files_says_how_to_install(tmp_path: Any) -> None:
    from starlette.requests import Request

    from bff.web import GraphiQLPage

    page = GraphiQLPage(vendor_dir=tmp_path / "vendor")
    response = page.response(
        Request(
            {
                "type": "http",
                "method": "GET",
                "path": "/graphql",
                "headers": [],
                "query_string": b"",
            }
        )
    )
    body = bytes(response.body).decode()
    assert response.status_code == 503
    assert "scripts/setup" in body and "graphiql.min.js" in body


async def test_assets_are_served_locally_and_strawberrys_cdn_page_is_not(server: Server) -> None:
    require(browser=True)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        links = re.findall(r'(?:src|href)="([^"]*)"', page.text)
        assert links and all(u.startswith(("/static/", "data:")) for u in links), links
        assert "/static/vendor/graphiql.min.js" in links
        script = await http.get("/static/vendor/graphiql.min.js")
        assert script.status_code == 200 and len(script.content) > 1_000_000
        assert script.headers["cache-control"] == "no-cache" and script.headers["etag"]
        again = await http.get(
            "/static/vendor/graphiql.min.js", headers={"if-none-match": script.headers["etag"]}
        )
        assert again.status_code == 304
        assert (await http.get("/static/vendor/../../app.py")).status_code == 404
        assert (await http.get("/static/vendor/nope.js")).status_code == 404
        # A GraphQL GET with a query is still GraphQL, not the page.
        r = await http.get(
            "/graphql", params={"query": "{ __typename }"}, headers={"accept": "text/html"}
        )
        assert r.json() == {"data": {"__typename": "Query"}}
