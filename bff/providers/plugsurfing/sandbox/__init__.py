"""A simulator of the Plugsurfing Drive API stage environment (seed ``001_*``)."""

from bff.providers.plugsurfing.sandbox.app import PlugsurfingSandbox

__all__ = ["PlugsurfingSandbox"]
