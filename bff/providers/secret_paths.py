"""Every provider's secret path segments, for the log redactor (:mod:`bff.logs`).

A provider whose URLs carry a credential in the path (Plugchoice's session token)
declares those paths in its ``constants`` as templates with a ``{secret}`` segment.
"""

from __future__ import annotations

from bff.providers.plugchoice.constants import SECRET_PATHS as _PLUGCHOICE

SECRET_PATHS: tuple[str, ...] = (*_PLUGCHOICE,)
