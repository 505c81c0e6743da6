"""A simulator of the Plugsurfing Drive API stage environment (seed ``001_*``)."""

from bff.sandbox.plugsurfing.app import PlugsurfingSandbox

__all__ = ["PlugsurfingSandbox"]
