"""Routes for the GraphiQL page's files: ``/static/vendor/`` (npm) and ``/static/web/`` (ours)."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from bff.settings import Settings
from bff.web.vendor import VENDOR_DIR

STATIC_DIR = Path(__file__).with_name("static")

# Starlette names a file's type from the mimetypes module, which on Python 3.11 without
# /etc/mime.types (python:3.11-slim) calls .js application/javascript: say it ourselves,
# the same on every machine (RFC 9239: text/javascript).
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class LocalFiles(StaticFiles):
    """Files of one folder, revalidated by ETag on each load (they change on upgrades).

    A folder that does not exist (assets not installed yet) answers 404 instead of
    Starlette's error, and starts being served once it is created.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)

    async def check_config(self) -> None:
        return None

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        content_type = CONTENT_TYPES.get(Path(full_path).suffix)
        if content_type and "content-type" in response.headers:
            response.headers["Content-Type"] = content_type
        return response


def web_routes(settings: Settings) -> list[BaseRoute]:
    """The asset routes, when GraphiQL is on (``BFF_GRAPHIQL``)."""
    if not settings.graphiql:
        return []
    return [
        Mount("/static/vendor", app=LocalFiles(VENDOR_DIR), name="vendor"),
        Mount("/static/web", app=LocalFiles(STATIC_DIR), name="web"),
    ]
