"""The graphql-transport-ws protocol's words: its subprotocol name, fixed messages and
close codes (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md)."""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL = "graphql-transport-ws"
PING = '{"type":"ping","payload":{}}'
PONG = '{"type":"pong"}'
ACK = '{"type":"connection_ack"}'

#: A message we cannot read, or a document that does not parse.
BAD_REQUEST = 4400
#: ``subscribe`` before ``connection_ack``.
UNAUTHORIZED = 4401
#: ``connection_init`` with credentials we do not accept.
FORBIDDEN = 4403
#: The client did not offer graphql-transport-ws.
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
#: No ``connection_init`` in time.
INIT_TIMEOUT = 4408
#: A ``subscribe`` whose id is in use.
DUPLICATE_ID = 4409
#: A second ``connection_init``.
TOO_MANY_INITS = 4429


@dataclass(frozen=True, slots=True)
class SocketSettings:
    """What a socket's handler needs to know (a slice of the app's settings)."""

    allowed_origins: tuple[str, ...]
    max_operations: int
    max_query_bytes: int
    init_timeout: float = 10.0
