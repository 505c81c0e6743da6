"""Redis replies as text.

Our clients keep ``decode_responses`` off (snapshots and records go to pydantic as bytes,
undecoded), so ids, members and pub/sub fields come back as bytes: text at the edge here.
"""

from __future__ import annotations


def as_str(value: object) -> str:
    """A reply's bytes as UTF-8 text (anything else as ``str``)."""
    return value.decode() if isinstance(value, bytes) else str(value)
