"""The provider sandboxes: faithful simulators of each provider's API, served over HTTP.

Each provider package has a ``sandbox`` module; :mod:`bff.sandbox.server` mounts them all
under ``/plugsurfing``, ``/plugchoice`` and ``/roaming`` of one Starlette app. Every
provider also answers ``/_control/...`` (stats, faults, seeding) for tests and benchmarks.
"""
