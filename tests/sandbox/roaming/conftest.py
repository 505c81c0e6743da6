"""The roaming rig of the provider tests: the sandbox, the adapter, a webhook inbox."""

from tests.providers.roaming.conftest import rig

__all__ = ["rig"]
