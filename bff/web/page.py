"""The GraphiQL page: local assets only, the contract's operations as tabs, a token prompt."""

from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bff.web.operations import Tab, contract_tabs
from bff.web.vendor import ASSETS, VENDOR_DIR, missing

HERE = Path(__file__).parent
HEADERS_PROMPT = json.dumps(
    {"Authorization": "Bearer <paste a token from: bff token --user driver-1>"}
)


def _script_json(value: object) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no HTML comment)."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class GraphiQLPage:
    """GraphiQL served with the BFF's own copies of its files (the machine may be offline).

    The contract is read once, when the server starts; the assets are looked up on each
    request, so installing them does not need a restart.
    """

    def __init__(self, contract: Path | None = None, vendor_dir: Path = VENDOR_DIR) -> None:
        self.tabs: list[Tab] = contract_tabs(contract)
        self.vendor_dir = vendor_dir
        self._page = Template((HERE / "page.html").read_text())
        self._missing = Template((HERE / "missing.html").read_text())

    def render(self, root_path: str = "") -> str:
        root = html.escape(root_path.rstrip("/"), quote=True)
        vendor = f"{root}/static/vendor"
        styles = "\n".join(
            f'    <link rel="stylesheet" href="{vendor}/{a.name}" />' for a in ASSETS if a.is_css
        )
        scripts = "\n".join(
            f'    <script src="{vendor}/{a.name}"></script>' for a in ASSETS if not a.is_css
        )
        config = {
            "headers": HEADERS_PROMPT,
            "tabs": [t.as_json(HEADERS_PROMPT) for t in self.tabs],
        }
        return self._page.substitute(
            styles=styles, scripts=scripts, root=root, config=_script_json(config)
        )

    def response(self, request: Request) -> Response:
        root_path = str(request.scope.get("root_path", ""))
        absent = missing(self.vendor_dir)
        if absent:
            body = self._missing.substitute(
                missing=html.escape(", ".join(absent)), root=html.escape(root_path.rstrip("/"))
            )
            return HTMLResponse(body, status_code=503, headers={"Cache-Control": "no-store"})
        return HTMLResponse(self.render(root_path), headers={"Cache-Control": "no-cache"})
