"""Where a profiled BFF spent its CPU, by stage of the work: ``python -m bench.stages DIR``
reads the collapsed stacks that ``BENCH_PROFILE=DIR python -m bench.run versus`` wrote
(py-spy, one file per phase) and prints each phase's samples by stage.

A sample counts for the stage of its deepest frame that belongs to one (stages are tried
in order for each frame), so a stage holds its own work and what it calls that no other
stage claims. Frames are py-spy's ``function (short/path.py:line)``.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

Stages = list[tuple[str, list[str]]]

DELIVERIES: Stages = [
    ("socket write and websocket frame", ["seams/uvicorn.py", "(uvicorn/", "(websockets/"]),
    ("message decode (pydantic, domain objects)", ["decode_snapshot", "codec.py", "(pydantic/"]),
    ("JSON encode of the result", ["dumps (execution.py"]),
    ("compiled plan (fields read and coerced)", ["plans.py"]),
    ("de-duplication, material-change check", ["fresh (", "is_material_change", "reconcile.py"]),
    ("subscription resolver, live state (session object, mark)",
     ["subscriptions.py", "usecases/live", "types/session.py", "loaders", "(live.py"]),
    ("feed and sink bookkeeping", ["feeds.py", "eager.py", "marks.py"]),
    ("execution stream (graphql-core subscription, engine)",
     ["execution.py", "(graphql/", "engine.py"]),
    ("broker: pub/sub read and fan-out (redis-py, hiredis)",
     ["broker.py", "subscription.py", "(redis/", "hiredis", "sharded.py"]),
    ("follower generator", ["watch.py", "hub.py"]),
    ("graphql-transport-ws", ["ws.py", "transport/"]),
    ("event loop", ["(asyncio/", "runners.py", "waiting.py"]),
]  # fmt: skip

SUBSCRIBE: Stages = [
    ("JWT verification (PyJWT, HS256, a new token per socket)", ["(jwt/", "auth.py"]),
    ("HTTP upgrade, websocket handshake and frames (uvicorn, websockets)",
     ["(websockets/", "(uvicorn/", "seams/uvicorn", "seams/websockets", "origins.py"]),
    ("first state: Redis read (snapshot, record) and broker subscribe",
     ["snapshots.py", "(redis/", "store/", "broker.py", "sharded.py", "subscription.py"]),
    ("first state: decode (pydantic)", ["(pydantic/", "codec.py"]),
    ("first state: plan, resolver, feed",
     ["plans.py", "execution.py", "feeds.py", "subscriptions.py", "types/session.py",
      "usecases/", "hub.py", "watch.py", "watchers.py"]),
    ("document, validation, persisted lookup (graphql-core, engine)",
     ["(graphql/", "engine.py", "documents.py", "persisted.py", "(strawberry/"]),
    ("graphql-transport-ws protocol", ["ws.py", "transport/", "requestid.py", "sockets.py",
                                       "(json/"]),
    ("event loop", ["(asyncio/", "runners.py", "waiting.py"]),
]  # fmt: skip

READS: Stages = [
    ("Redis read of snapshot and record (redis-py, pool)", ["(redis/", "snapshots.py", "store/"]),
    ("snapshot decode (pydantic, domain objects)", ["(pydantic/", "codec.py"]),
    ("compiled plan and root resolver", ["plans.py", "query_plans.py", "schema/", "usecases/"]),
    ("HTTP protocol (uvicorn httptools)", ["(uvicorn/", "seams/uvicorn"]),
    ("request and response (bff.graphql.transport, JSON)",
     ["http.py", "transport/", "(json/", "requestid.py"]),
    ("engine: operation cache, persisted queries, metrics",
     ["engine.py", "execution.py", "persisted.py", "counting.py", "prometheus", "(graphql/"]),
    ("JWT (verification cached)", ["(jwt/", "auth.py"]),
    ("event loop", ["(asyncio/", "runners.py", "waiting.py", "gc_tuning"]),
]  # fmt: skip

PHASES = {"deliveries": DELIVERIES, "subscribe": SUBSCRIBE, "read": READS}


def by_stage(lines: list[str], stages: Stages) -> tuple[int, Counter[str]]:
    total, counts = 0, Counter[str]()
    for line in lines:
        stack, _, n = line.rstrip().rpartition(" ")
        if not stack:
            continue
        total += int(n)
        frames = stack.split(";")
        for frame in reversed(frames):
            hit = next((name for name, pats in stages if any(p in frame for p in pats)), None)
            if hit:
                counts[hit] += int(n)
                break
        else:
            counts["other"] += int(n)
    return total, counts


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    for path in sorted(Path(argv[0]).glob("versus-*.txt")):
        stages = next((s for k, s in PHASES.items() if path.stem.endswith(k)), None)
        if stages is None:
            continue
        total, counts = by_stage(path.read_text().splitlines(), stages)
        print(f"{path.stem}: {total} samples")
        for name, n in counts.most_common():
            print(f"  {100 * n / max(1, total):5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
