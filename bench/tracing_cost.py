"""What traces cost: server CPU per request, tracing off and on (README: Traces).

    python -m bench.tracing_cost [--requests 2000] [--repeats 3]
        [--variant NAME=PYTHON[:PYTHONPATH][+traces] ...]

Each variant is one ``bff serve`` (one worker, embedded Redis, sandboxes in process) run
by that interpreter (with that ``PYTHONPATH``, e.g. another checkout's code); ``+traces``
turns traces on, exported over OTLP/HTTP to a sink in this process that answers 200.
For each, one driver's Plugsurfing session is seeded and read once, then a closed loop
of one keep-alive connection sends ``{ __typename }`` and a ``node(id)`` read of that
session ``--requests`` times each; the figure is the server process's CPU time
(``/proc/<pid>/stat``) over the loop divided by the requests, best of ``--repeats``
(variants interleaved, so a busy moment of a shared machine hits them alike).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench.procs import cpu_seconds, free_port

ROOT = Path(__file__).resolve().parents[1]
NODE = "query($id: ID!) { node(id: $id) { id ... on ChargingSession { status provider } } }"
HISTORY = "query { viewer { sessions(first: 1) { edges { node { id } } } } }"


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def _serve(
    python: str, path: str | None, traces: bool, sink: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(BFF_WORKERS="1", BFF_PORT=str(port), BFF_LOG_LEVEL="WARNING")
    if path:
        env["PYTHONPATH"] = path
    if traces:
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = sink
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([python, "-m", "bff", "serve"], env=env, stdout=log, stderr=log,
                            cwd=path or ROOT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    log.seek(0)
    raise RuntimeError(f"bff serve did not start: {log.read()[-2000:]!r}")


def _measure(proc: subprocess.Popen[bytes], url: str, n: int) -> dict[str, float]:
    from bff.auth import DriverAuth
    from bff.settings import Settings

    driver = "bench-tracing"
    token = DriverAuth(Settings()).issue(driver, 3600)
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        http.post("/_sandbox/plugsurfing/_control/seed", json={"userId": driver, "count": 1})
        edges = http.post("/graphql", json={"query": HISTORY}).json()["data"]["viewer"]
        sid = edges["sessions"]["edges"][0]["node"]["id"]
        bodies = {"trivial": {"query": "{ __typename }"},
                  "node(id)": {"query": NODE, "variables": {"id": sid}}}  # fmt: skip
        out = {}
        for name, body in bodies.items():
            for _ in range(200):  # warm-up
                http.post("/graphql", json=body)
            before = cpu_seconds(proc.pid)
            for _ in range(n):
                r = http.post("/graphql", json=body)
                if r.status_code != 200 or "errors" in r.json():
                    raise RuntimeError(f"{name}: {r.text[:300]}")
            out[name] = (cpu_seconds(proc.pid) - before) / n * 1e6
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variant", action="append", default=[])
    args = parser.parse_args(argv)
    variants = args.variant or ["off=" + sys.executable, "on=" + sys.executable + "+traces"]
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    sink_url = f"http://127.0.0.1:{sink.server_address[1]}/v1/traces"
    best: dict[str, dict[str, float]] = {}
    for i in range(args.repeats):
        for spec in variants:
            name, _, rest = spec.partition("=")
            traces = rest.endswith("+traces")
            python, _, path = rest.removesuffix("+traces").partition(":")
            proc, url = _serve(python, path or None, traces, sink_url)
            try:
                got = _measure(proc, url, args.requests)
            finally:
                proc.terminate()
                proc.wait(20)
            mine = best.setdefault(name, {})
            for k, v in got.items():
                mine[k] = min(v, mine.get(k, v))
            figures = ", ".join(f"{k} {v:.0f} us" for k, v in got.items())
            print(f"{i + 1}/{args.repeats} {name}: {figures}", file=sys.stderr)
    for name, figures in best.items():
        print(f"{name}: " + ", ".join(f"{k} {v:.0f} us CPU/request" for k, v in figures.items()))
    sink.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
