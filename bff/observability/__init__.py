"""What operators see: Prometheus metrics, request ids on logs and upstream calls.

Nothing here imports Strawberry; the GraphQL side of the metrics lives in
``bff.graphql.engine.counting``.
"""

from bff.observability.metrics import Metrics
from bff.server.requestid import (
    REQUEST_ID_HEADER,
    RequestIdFilter,
    RequestIdMiddleware,
    bind_request_id,
    current_request_id,
)

__all__ = [
    "REQUEST_ID_HEADER",
    "Metrics",
    "RequestIdFilter",
    "RequestIdMiddleware",
    "bind_request_id",
    "current_request_id",
]
