"""The roaming platform's sandbox: Virta EVSEs around Helsinki, sessions on a clock."""

from bff.sandbox.roaming.app import RoamingSandbox

__all__ = ["RoamingSandbox"]
