"""The Plugchoice rig of the provider tests: the sandbox, and the adapter over ASGI."""

from tests.providers.plugchoice.conftest import make_rig, rig

__all__ = ["make_rig", "rig"]
