"""Provider packages: one per charging provider, each with the same files.

``client`` (httpx, one method per endpoint), ``schemas`` (pydantic models of its JSON),
``mappers`` (pure functions to ``bff.domain``), ``constants`` (status tables),
``adapter`` (implements :class:`bff.providers.base.ProviderAdapter`), ``webhooks``
(parsing and verifying its webhooks) and ``sandbox`` (a simulator of its API).
:mod:`bff.providers.registry` lists them: the rest of the app names no provider.
"""
