"""Reading ``/metrics`` and the server's log in tests: the exposition parsed into
samples, the JSON log lines parsed into dicts."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support import GraphQLClient, Server

Samples = list[tuple[str, dict[str, str], float]]


async def scrape(client: GraphQLClient) -> Samples:
    r = await client.http.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


def parse(text: str) -> Samples:
    return [
        (s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items())
    )


def log_lines(server: Server) -> list[dict[str, Any]]:
    """The server's JSON log lines so far (a partly written last line is skipped)."""
    out = []
    for line in server.log_path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
