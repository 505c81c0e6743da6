"""Plugchoice v3 public charging (seed ``002_*``): start by a charger's public code and
connector, a Stripe pre-authorization the app confirms, then polling; no webhooks.

``constants`` (status tables), ``schemas`` (its JSON), ``mappers`` (to the domain),
``client`` (one method per endpoint) and ``adapter`` (:class:`PlugchoiceAdapter`). Its
simulator is :mod:`bff.sandbox.plugchoice`, which shares no code with these.
"""
