"""The roaming platform's sandbox: Virta EVSEs around Helsinki, sessions on a clock."""

from bff.providers.roaming.sandbox.app import RoamingSandbox

__all__ = ["RoamingSandbox"]
