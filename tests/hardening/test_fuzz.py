"""Fuzzing the running server's GraphQL endpoint with schemathesis (its GraphQL support
generates operations from ``schema.graphql`` through hypothesis-graphql): every query and
mutation with arbitrary arguments and selections. No answer may be a 5xx, and no error
may carry internals: an error is either a known, readable code or the masked
``Internal server error``."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import Counter
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from tests.figures import Figures
from tests.support import ROOT, Server

PER_OPERATION = 30  # 10 operations: 300 in all
TIME_CAP_S = 45.0
READABLE = {"BAD_USER_INPUT", "UNAUTHENTICATED", "NOT_FOUND", "GRAPHQL_VALIDATION_FAILED",
            "GRAPHQL_PARSE_FAILED", "PROVIDER_UNAVAILABLE", "RATE_LIMITED"}
MASKED = {"message": "Internal server error", "code": "INTERNAL_SERVER_ERROR"}


def verdict(error: dict[str, Any]) -> str:
    """``readable``, ``masked`` (an internal error, properly hidden) or ``unmasked``."""
    ext = error.get("extensions") or {}
    code = ext.get("code")
    if code in READABLE:
        return "readable"
    if {"message": error.get("message"), "code": code} == MASKED and set(ext) == {"code"}:
        return "masked"
    return "unmasked"


NASTY = ["..", ".", "../..", "...", "../../drive/v1/evses", "%2e%2e", "a/b", "?x=1", "#frag", " ",
         "\x00", "x" * 5000, "😀", "null", "' OR 1=1 --"]


def global_ids() -> st.SearchStrategy[str]:
    """Well-formed global IDs with hostile parts (path tricks, huge, odd), and junk."""
    part = st.sampled_from(NASTY) | st.text(min_size=1, max_size=40)
    shaped = st.tuples(st.sampled_from(["ChargingSession", "Charger", "Connector"]),
                       st.sampled_from(["PLUGSURFING", "PLUGCHOICE", "ROAMING"]),
                       st.lists(part, min_size=1, max_size=2))

    def encode(t: tuple[str, str, list[str]]) -> str:
        raw = json.dumps([t[0], t[1], *t[2]]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return shaped.map(encode) | st.text(max_size=60)


def test_fuzzed_operations_never_5xx_nor_leak(server: Server, figures: Figures) -> None:
    # IDs are opaque strings to the schema; half of ours decode, so the fuzzer gets past
    # the ID check into the resources and the providers.
    schemathesis.graphql.scalar("ID", global_ids().map(nodes.String))
    schema = schemathesis.graphql.from_path(ROOT / "schema.graphql")
    operations = [r.ok() for r in schema.get_all_operations()]
    headers = {"authorization": f"Bearer {server.token(f'fuzz-{uuid.uuid4().hex[:8]}')}"}
    statuses: Counter[int] = Counter()
    verdicts: Counter[str] = Counter()
    bad: list[str] = []
    started = time.monotonic()
    with requests.Session() as http:
        for op in operations:

            @settings(max_examples=PER_OPERATION, deadline=None, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(), anonymous=st.booleans())
            def run(case: Any, anonymous: bool) -> None:
                if time.monotonic() - started > TIME_CAP_S:
                    return
                r = case.call(base_url=f"{server.url}/graphql", session=http,
                              headers={} if anonymous else headers, timeout=30)
                statuses[r.status_code] += 1
                try:
                    body = r.json()
                except ValueError:
                    body = {}
                for error in body.get("errors") or []:
                    v = verdict(error)
                    verdicts[v] += 1
                    if v != "readable":
                        bad.append(f"{case.operation.label}: {json.dumps(error)[:300]}\n"
                                   f"{case.body}")
                if r.status_code >= 500:
                    bad.append(f"{case.operation.label}: HTTP {r.status_code}\n{case.body}")

            run()
    total = sum(statuses.values())
    fives = sum(n for s, n in statuses.items() if s >= 500)
    figures(f"fuzzed operations: {total} over {len(operations)} operations (schemathesis), "
            f"5xx: {fives}, unmasked internal errors: {verdicts['unmasked']}, masked internal "
            f"errors: {verdicts['masked']}, readable errors: {verdicts['readable']}; statuses "
            f"{dict(sorted(statuses.items()))}")
    assert total >= 10 * len(operations), total
    assert fives == 0 and verdicts["unmasked"] == 0, bad[:5]
    assert verdicts["masked"] == 0, f"unexpected exceptions (masked): {bad[:5]}"


def test_dot_segments_in_ids_are_refused(server: Server) -> None:
    """An id of "." or ".." would be resolved away in the provider's URL (GET
    .../sessions/.. is GET .../users/{id}): refused before any provider is asked."""
    headers = {"authorization": f"Bearer {server.token('dots')}"}
    for part in (".", "..", "..."):
        gid = base64.urlsafe_b64encode(json.dumps(["ChargingSession", "PLUGSURFING", part])
                                       .encode()).decode().rstrip("=")
        r = requests.post(f"{server.url}/graphql", headers=headers, timeout=10, json={
            "query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": gid}})
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", r.text
