"""A subscriber that stops reading: the server's RSS while updates keep coming.

One session, two subscribers: one stops reading at once, the other reads everything.
Updates of ~9 KB each (a long provider status word, which the LiveSession document
selects) are published on Redis at 200 a second for 60 s: about 100 MB that the server
would hold for the stuck socket if it kept a backlog. Figures: server RSS at the start,
its largest growth while sampled every 5 s, and whether the reading subscriber got the
last state.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from bench.config import Config
from bench.live import Publisher, create_sessions
from bench.pool import SubscriberPool
from bench.report import Section, progress
from bench.stack import contract, running, token

RATE = 200
PAD = 9000


def run(cfg: Config) -> Section:
    seconds = cfg.seconds(60, 10)
    section = Section(
        "A subscriber that stops reading",
        f"One session, one subscriber that never reads and one that reads; {RATE} updates "
        f"a second of ~9 KB each for {seconds:.0f} s (~{RATE * seconds * 9 / 1000:.0f} MB "
        "in all). The server keeps the newest state per session for a slow socket, not a "
        "backlog.",
    )
    with running() as stack:
        bff = stack.bff
        [session] = asyncio.run(create_sessions(stack.redis.url, ["bench-stuck"]))
        query = contract()["LiveSession"]
        for rep in range(cfg.repeats):
            if rep:
                stack.restart_bff()
                bff = stack.bff
            pool = SubscriberPool(1)
            try:
                subs = [
                    (token(session.driver), {"id": session.gid}, t) for t in ("stuck", "reader")
                ]
                pool.all({"cmd": "open", "host": "127.0.0.1", "port": bff.port, "query": query,
                          "subs": subs, "concurrency": 2})  # fmt: skip
                paused = pool.all({"cmd": "pause", "tag": "stuck"})  # it stops reading
                if paused[0]["paused"] != 1:
                    raise RuntimeError(f"expected one stuck subscriber: {paused}")
                pool.all({"cmd": "reset"})
                time.sleep(1)
                rss0 = bff.rss_kib()
                peak = rss0
                pub = Publisher(stack.redis.url, PAD)
                start, k = time.monotonic(), 0
                next_sample, samples = start + 5, []
                try:
                    while time.monotonic() - start < seconds:
                        due = int((time.monotonic() - start) * RATE)
                        if k < due:
                            pub.publish([session] * min(50, due - k))
                            k += min(50, due - k)
                        else:
                            time.sleep(0.005)
                        if time.monotonic() >= next_sample:
                            rss = bff.rss_kib()
                            samples.append(round((rss - rss0) / 1024, 1))
                            peak = max(peak, rss)
                            next_sample += 5
                finally:
                    pub.close()
                time.sleep(2)
                peak = max(peak, bff.rss_kib())
                end = bff.rss_kib()
                stats = pool.all({"cmd": "stats"})[0]
                got = stats["per_tag"].get("reader", [0, 0, 0, None, None])
                last = (
                    got[4] is not None
                    and abs(datetime.fromisoformat(got[4]).timestamp() - pub.last_at) < 1e-3
                )
                section.row("server RSS before", "MB").add(rss0 / 1024)
                section.row("server RSS growth, largest", "MB").add((peak - rss0) / 1024)
                section.row("server RSS growth at the end", "MB").add((end - rss0) / 1024)
                section.row("updates published", "msgs", digits=0).add(k)
                section.row("the reader got the last state", "1 = yes", "1",
                            lambda v: v == 1, 0).add(1 if last else 0)  # fmt: skip
                progress(
                    f"stuck {rep + 1}/{cfg.repeats}: {k} updates; RSS {rss0 / 1024:.1f} MB, "
                    f"+{(peak - rss0) / 1024:.1f} MB at most, +{(end - rss0) / 1024:.1f} MB "
                    f"at the end; reader states {got[0]}; growth every 5 s: {samples}"
                )
            finally:
                pool.close()
    return section
