"""Strict persisted-query mode against a real Apollo client (issue 18): the allow-list is
the manifest Apollo's own ``generate-persisted-query-manifest`` writes from the app's
operations, as an app build does (with the ``__typename`` fields Apollo Client adds), the
server runs only it, and Apollo Client sends every contract operation by its manifest id."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
from graphql import OperationDefinitionNode, parse, print_ast

from bff.graphql.engine.operations_file import operation_documents
from bff.graphql.engine.persisted import sha256_hex
from tests.conftest import server_alone
from tests.figures import Figures
from tests.support import CONTRACT
from tests.web.support import CLIENTS, require, run_node

CLI = CLIENTS / "node_modules" / "@apollo" / "generate-persisted-query-manifest" / "cli.js"


def app_sources(dest: Path) -> list[str]:
    """The contract as an app's source tree keeps it: one definition per ``.graphql``
    file (the generator refuses two operations in one document); the operations' names."""
    dest.mkdir(parents=True)
    names: list[str] = []
    for definition in parse(CONTRACT.read_text()).definitions:
        name = definition.name.value  # type: ignore[attr-defined]
        (dest / f"{name}.graphql").write_text(print_ast(definition) + "\n")
        if isinstance(definition, OperationDefinitionNode):
            names.append(name)
    return names


def build_manifest(node: str, work: Path) -> tuple[Path, list[str]]:
    names = app_sources(work / "src")
    config = work / "persisted-query-manifest.config.json"
    manifest = work / "persisted-query-manifest.json"
    config.write_text(json.dumps({"documents": [f"{work}/src/**/*.graphql"], "output": str(manifest)}))
    proc = run_node([node, str(CLI), "--config", str(config)], {}, timeout=60)
    assert proc.returncode == 0 and manifest.is_file(), f"{proc.stdout}\n{proc.stderr}"
    return manifest, names


def test_apollo_client_runs_the_contract_by_manifest_id_in_strict_mode(
    redis_url: str, tmp_path: Path, figures: Figures
) -> None:
    tools = require()
    manifest, names = build_manifest(tools["node"], tmp_path)
    operations = json.loads(manifest.read_text())["operations"]
    assert sorted(op["name"] for op in operations) == sorted(names)
    for op in operations:
        assert op["id"] == sha256_hex(op["body"]), op["name"]
    ours = operation_documents(CONTRACT.read_text())
    # Apollo's texts are not the contract's as printed: __typename added where the cache
    # needs it, definitions reordered. A server that pinned the contract's texts would
    # refuse this app; that is what this test is for.
    differ = [op["name"] for op in operations if op["body"] != ours[op["name"]]]
    assert differ and all("__typename" in op["body"] for op in operations), differ

    env = {"BFF_PERSISTED_QUERIES_ONLY": "true", "BFF_PERSISTED_QUERIES_FILE": str(manifest)}
    with server_alone(redis_url, env, db=9) as server:
        driver = f"debt-apq-{uuid.uuid4().hex[:10]}"
        token = server.token(driver)
        # The contract's own text of an operation whose Apollo text differs: not allowed.
        name = differ[0]
        refused = httpx.post(
            f"{server.url}/graphql",
            json={"query": ours[name], "operationName": name, "variables": {}},
            headers={"authorization": f"Bearer {token}"},
            timeout=10,
        )
        codes = [e["extensions"]["code"] for e in refused.json()["errors"]]
        assert refused.status_code == 400 and codes == ["PERSISTED_QUERY_NOT_ALLOWED"], refused.text

        proc = run_node(
            [tools["node"], "--test", "--test-reporter=spec", "clients/contract.test.mjs"],
            {"BFF_URL": server.url, "BFF_TOKEN": token, "BFF_CONTRACT": str(CONTRACT),
             "BFF_MANIFEST": str(manifest)},
            timeout=90,
        )  # fmt: skip
    output = f"{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0, output
    assert re.search(r"\bfail 0\b", proc.stdout), output
    sent = re.search(r"persisted: (\d+) HTTP requests by manifest id, (\d+) with a query text", output)
    assert sent and int(sent.group(1)) > 0 and sent.group(2) == "0", output
    figures(
        f"strict persisted queries, Apollo's manifest ({len(operations)} operations, "
        f"{len(differ)} whose text differs from the contract's): {sent.group(1)} requests "
        f"by id, {sent.group(2)} with a text, every contract operation ran"
    )
