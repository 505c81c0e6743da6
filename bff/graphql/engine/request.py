"""A GraphQL request (read by the transports: :mod:`bff.graphql.transport.reading`) and
an operation ready to run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode, OperationType


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """``query``, ``variables``, ``operationName`` and ``extensions`` of one operation."""

    query: str | None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """An operation that parsed and validated, ready to run."""

    query: str
    document: DocumentNode
    operation: OperationDefinitionNode
    variables: dict[str, Any] | None
    #: The APQ hash to store the query under once it ran (a client registering it).
    register: str | None = None

    @property
    def kind(self) -> OperationType:
        return self.operation.operation

    @property
    def name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None
