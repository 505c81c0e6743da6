"""The BFF's own GraphiQL: a page that loads only files the BFF serves (no CDN)."""

from bff.web.page import GraphiQLPage
from bff.web.routes import web_routes

__all__ = ["GraphiQLPage", "web_routes"]
