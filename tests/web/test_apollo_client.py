"""The contract from a real client: Apollo Client + graphql-ws in Node (clients/), as the
React Native app uses the BFF (issue 8)."""

from __future__ import annotations

import re
import uuid

from tests.support import CONTRACT, Server
from tests.web.support import require, run_node


def test_apollo_client_runs_every_contract_operation(own_server: Server) -> None:
    server = own_server
    tools = require()
    # "debt…": the Plugsurfing sandbox declines this driver's card, so RetryPayment has a
    # debt to settle; a new driver each run starts with no history.
    driver = f"debt-apollo-{uuid.uuid4().hex[:10]}"
    proc = run_node(
        [tools["node"], "--test", "--test-reporter=spec", "clients/contract.test.mjs"],
        {"BFF_URL": server.url, "BFF_TOKEN": server.token(driver), "BFF_CONTRACT": str(CONTRACT)},
        timeout=90,
    )
    output = f"{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0, output
    passed = re.search(r"\bpass (\d+)", proc.stdout)
    assert passed and int(passed.group(1)) >= 5 and re.search(r"\bfail 0\b", proc.stdout), output
