"""GraphiQL's browser files, served by the BFF itself (no CDN: it must work offline).

They come from npm (``clients/package-lock.json``) and are copied into ``bff/static/vendor/``
by ``python -m bff.web install NODE_MODULES``: in a checkout ``scripts/setup-web`` runs it
(``clients/node_modules``); for the image ``scripts/build-wheel`` runs it before the wheel
is built, so the files are package data of the installed ``bff`` (site-packages), the
folder that :data:`VENDOR_DIR` names there. The folder is not committed; ``missing()``
tells the page what is absent.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor"


@dataclass(frozen=True)
class Asset:
    """One file the page loads: its name under ``/static/vendor/`` and where npm puts it."""

    name: str
    package: str
    path: str  # inside the package

    @property
    def is_css(self) -> bool:
        return self.name.endswith(".css")


# In load order: React before GraphiQL, GraphiQL before the explorer plugin (which reads
# the ``GraphiQL.React`` global), graphql-ws for the page's own websocket client.
ASSETS: tuple[Asset, ...] = (
    Asset("react.production.min.js", "react", "umd/react.production.min.js"),
    Asset("react-dom.production.min.js", "react-dom", "umd/react-dom.production.min.js"),
    Asset("js.cookie.min.js", "js-cookie", "dist/js.cookie.min.js"),
    Asset("graphql-ws.min.js", "graphql-ws", "umd/graphql-ws.min.js"),
    Asset("graphiql.min.js", "graphiql", "graphiql.min.js"),
    Asset("graphiql.min.css", "graphiql", "graphiql.min.css"),
    Asset("plugin-explorer.umd.js", "@graphiql/plugin-explorer", "dist/index.umd.js"),
    Asset("plugin-explorer.css", "@graphiql/plugin-explorer", "dist/style.css"),
)
MANIFEST = "manifest.json"


def missing(directory: Path = VENDOR_DIR) -> list[str]:
    """Names of the assets not installed in ``directory``."""
    return [a.name for a in ASSETS if not (directory / a.name).is_file()]


def missing_in_wheel(wheel: Path) -> list[str]:
    """Names of the assets a built wheel does not carry (at ``bff/static/vendor/``)."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    return [a.name for a in ASSETS if f"bff/static/vendor/{a.name}" not in names]


def install(node_modules: Path, directory: Path = VENDOR_DIR) -> list[str]:
    """Copy the assets from ``node_modules``; returns the names that changed.

    Unchanged files are left alone, so a second run is a no-op.
    """
    absent = [
        str(node_modules / a.package / a.path)
        for a in ASSETS
        if not (node_modules / a.package / a.path).is_file()
    ]
    if absent:
        raise FileNotFoundError(
            "not in node_modules (run npm ci in clients/): " + ", ".join(absent)
        )
    directory.mkdir(parents=True, exist_ok=True)
    changed: list[str] = []
    versions: dict[str, str] = {}
    for asset in ASSETS:
        source = node_modules / asset.package / asset.path
        target = directory / asset.name
        if not target.is_file() or not filecmp.cmp(source, target, shallow=False):
            shutil.copyfile(source, target)
            changed.append(asset.name)
        package_json = json.loads((node_modules / asset.package / "package.json").read_text())
        versions[asset.package] = str(package_json["version"])
    manifest = json.dumps({"packages": versions, "files": [a.name for a in ASSETS]}, indent=2)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file() or manifest_path.read_text() != manifest:
        manifest_path.write_text(manifest)
    return changed
