"""Webhook ingestion on one worker: accepted webhooks per second.

- roaming: Standard Webhooks signature check, replay de-duplication (SET NX), reconcile
  against the snapshot (compare-and-set) and publish; every webhook a newer state.
- plugsurfing: static ``Authorization`` check, then a re-fetch of the session from the
  sandbox, reconcile and publish (live sessions, whose energy rises between fetches).

16 keep-alive connections post back to back; every answer must be 200.
"""

from __future__ import annotations

import asyncio
import random

from bench.config import Config
from bench.httpload import run_load
from bench.live import LiveSession, create_sessions, plugsurfing_prompt, roaming_webhook
from bench.report import Section, progress
from bench.stack import WARSAW, Gql, running

CONCURRENCY = 16


def run(cfg: Config) -> Section:
    section = Section(
        "Webhook ingestion on one worker",
        f"{CONCURRENCY} connections posting webhooks back to back to one `bff serve` worker. "
        "Roaming: 200 live sessions, signed webhooks (signature, replay check, reconcile, "
        "publish). Plugsurfing: prompts for 6 live sessions, each re-fetched from the "
        "sandbox (a separate process) before reconcile and publish.",
    )
    seconds = cfg.seconds(8, 2)
    with running() as stack:
        port = stack.bff.port
        sessions = asyncio.run(
            create_sessions(stack.redis.url, [f"bench-wh-{i}" for i in range(200)])
        )
        gql = Gql(stack.bff.url, "bench-prompts")
        try:
            progress("webhooks: starting 6 live Plugsurfing sessions")
            live = []
            for connector in gql.connectors(WARSAW, "PLUGSURFING")[:6]:
                started = gql.start(connector)
                if started["__typename"] == "StartSessionSuccess":
                    live.append(started["session"]["id"])
            if not live:
                raise RuntimeError("no Plugsurfing session started")
            provider_ids = [gql.op("SessionDetail", id=g)["node"]["providerSessionId"]
                            for g in live]  # fmt: skip
        finally:
            gql.close()
        rng = random.Random(7)

        def roaming() -> bytes:
            s: LiveSession = rng.choice(sessions)
            return roaming_webhook(s, port)

        def prompt() -> bytes:
            return plugsurfing_prompt(gql.driver, rng.choice(provider_ids), port)

        for name, make in (
            ("roaming (signed)", roaming),
            ("plugsurfing (prompt + re-fetch)", prompt),
        ):
            asyncio.run(run_load(port, make, seconds=1, concurrency=4, check=b'"ok"'))
            for i in range(cfg.repeats):
                cpu0 = stack.bff.cpu()
                res = asyncio.run(
                    run_load(port, make, seconds=seconds, concurrency=CONCURRENCY, check=b'"ok"')
                )
                cpu = stack.bff.cpu() - cpu0
                if res.errors:
                    raise RuntimeError(f"{name}: {res.errors} refused: {res.sample!r}")
                section.row(f"{name}: accepted webhooks/s", "req/s", digits=0).add(res.rps)
                section.row(f"{name}: p50", "ms", digits=2).add(res.pct(0.5))
                section.row(f"{name}: p99", "ms", digits=2).add(res.pct(0.99))
                section.row(f"{name}: server CPU per webhook", "µs", digits=0).add(
                    cpu / max(1, res.requests) * 1e6
                )
                progress(
                    f"webhooks {i + 1}/{cfg.repeats}: {name}: {res.rps:.0f}/s, p50 "
                    f"{res.pct(0.5):.1f} ms, p99 {res.pct(0.99):.1f} ms, "
                    f"{cpu / max(1, res.requests) * 1e6:.0f} µs CPU each"
                )
    return section
