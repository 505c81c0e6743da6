"""The provider sandboxes: faithful simulators of each provider's API, served over HTTP.

One subpackage per provider (:mod:`.plugsurfing`, :mod:`.plugchoice`, :mod:`.roaming`),
each the provider's side of the wire: its own JSON, status words, error codes, auth and
webhook signing, written from the provider's documents. None imports the BFF's provider
clients (``bff.providers``): a wire bug shared by a client and its simulator would pass
every test. :mod:`.common` holds what the simulators share (config, clock, faults,
webhook sending); :mod:`.server` mounts them all under ``/plugsurfing``, ``/plugchoice``
and ``/roaming`` of one Starlette app. Every simulator also answers ``/_control/...``
(stats, faults, seeding) for tests and benchmarks.
"""
