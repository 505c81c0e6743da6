"""The GraphQL view with shared subscriptions, and what its sockets share."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import strawberry

from bff.graphql.documents import KnownDocuments
from bff.graphql.fanout import Feeds
from bff.graphql.feed_stream import FeedSchema
from bff.graphql.live_transport import SharedSubscriptionsWSHandler
from bff.graphql.persisted_view import PersistedQueryGraphQL

if TYPE_CHECKING:
    from bff.settings import Settings


@dataclasses.dataclass
class SharedSubscriptions:
    """What the transport shares across the sockets of one view."""

    feeds: Feeds
    documents: KnownDocuments
    schema: strawberry.Schema  # the view's schema without OperationMetrics
    max_tokens: int
    feed: FeedSchema  # how feeds execute (on ``schema``)


class LiveGraphQL(PersistedQueryGraphQL):
    """The ASGI view with shared subscriptions (``settings`` must be set by the subclass)."""

    graphql_transport_ws_handler_class = SharedSubscriptionsWSHandler
    settings: Settings
    _shared: SharedSubscriptions | None = None

    @property
    def shared(self) -> SharedSubscriptions:
        if self._shared is None:
            from bff.graphql.schema import build_schema

            schema = build_schema(self.settings)
            documents = KnownDocuments()
            self._shared = SharedSubscriptions(
                Feeds(),
                documents,
                schema,
                self.settings.max_tokens,
                FeedSchema.of(schema, documents),
            )
        return self._shared
