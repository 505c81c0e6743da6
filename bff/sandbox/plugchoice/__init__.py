"""The Plugchoice sandbox: a simulator of v3 public charging with chargers around Utrecht.

:class:`PlugchoiceSandbox` serves the documented endpoints, status words, error codes
and per-client rate limits (:mod:`.api`, :mod:`.wire`); sessions move through their
lifecycle on the sandbox clock (:mod:`.sessions`), and ``/_control`` routes
(:mod:`.control`) seed and steer them.
"""

from bff.sandbox.plugchoice.app import PlugchoiceSandbox

__all__ = ["PlugchoiceSandbox"]
