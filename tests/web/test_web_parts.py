"""The GraphiQL page's parts without a browser: tabs from the contract, the vendor copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from bff.web import GraphiQLPage
from bff.web.operations import BUNDLED_CONTRACT, contract_tabs
from bff.web.vendor import ASSETS, install, missing
from tests.support import CONTRACT, ROOT, contract_operations


def test_bundled_contract_is_the_shared_one() -> None:
    assert CONTRACT.is_file(), f"shared contract not found at {CONTRACT}"
    assert BUNDLED_CONTRACT.read_text() == CONTRACT.read_text(), (
        f"copy {CONTRACT} to {BUNDLED_CONTRACT}"
    )


def test_every_operation_is_a_tab_that_the_schema_accepts_as_it_is() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    tabs = contract_tabs(CONTRACT)
    assert [t.name for t in tabs] == list(contract_operations())
    for tab in tabs:
        errors = validate(schema, parse(tab.query))
        assert not errors, (tab.name, errors)
        if tab.variables:
            assert isinstance(json.loads(tab.variables), dict)
    by_name = {t.name: t for t in tabs}
    # Fragments come along transitively (SessionLive spreads Money) and only when used.
    assert "fragment Money on Money" in by_name["LiveSession"].query
    assert "fragment ChargerCard" not in by_name["LiveSession"].query
    assert by_name["NearbyChargers"].query.startswith("# Map screen")
    assert json.loads(by_name["NearbyChargers"].variables)["radiusMeters"] == 500


def test_page_config_is_safe_inside_a_script_element(tmp_path: Path) -> None:
    contract = tmp_path / "ops.graphql"
    contract.write_text("# </script><script>alert(1)</script>\nquery Evil { __typename }\n")
    for asset in ASSETS:
        (tmp_path / asset.name).write_text("")
    html = GraphiQLPage(contract, vendor_dir=tmp_path).render()
    assert html.count("</script>") == html.count("<script")
    assert "alert(1)" in html  # still there, as escaped JSON text


def fake_node_modules(root: Path) -> Path:
    for asset in ASSETS:
        path = root / asset.package / asset.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {asset.name} */")
        (root / asset.package / "package.json").write_text('{"version": "1.2.3"}')
    return root


def test_vendor_install_copies_once_and_reports_missing(tmp_path: Path) -> None:
    modules = fake_node_modules(tmp_path / "node_modules")
    target = tmp_path / "vendor"
    assert missing(target) == [a.name for a in ASSETS]
    assert install(modules, target) == [a.name for a in ASSETS]
    assert missing(target) == []
    assert install(modules, target) == [], "a second run changes nothing"
    (modules / "graphiql" / "graphiql.min.js").write_text("/* new */")
    assert install(modules, target) == ["graphiql.min.js"]
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["packages"]["graphiql"] == "1.2.3"
    (modules / "react" / "umd" / "react.production.min.js").unlink()
    with pytest.raises(FileNotFoundError, match="npm ci"):
        install(modules, target)


async def test_files_are_javascript_and_css_without_the_machines_mime_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """python:3.11-slim has no /etc/mime.types: Python alone calls .js application/javascript."""
    import mimetypes

    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from bff.web.routes import LocalFiles

    for name in ("_db", "inited", "types_map", "common_types", "suffix_map", "encodings_map"):
        monkeypatch.setattr(mimetypes, name, getattr(mimetypes, name))  # restored after
    monkeypatch.setattr(mimetypes, "knownfiles", [])
    monkeypatch.setattr(mimetypes, "_db", None)
    mimetypes.init()
    (tmp_path / "a.js").write_text("let a = 1;")
    (tmp_path / "a.css").write_text("a {}")
    app = Starlette(routes=[Mount("/files", app=LocalFiles(tmp_path))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        assert (await c.get("/files/a.js")).headers["content-type"] == (
            "text/javascript; charset=utf-8"
        )
        assert (await c.get("/files/a.css")).headers["content-type"] == "text/css; charset=utf-8"
