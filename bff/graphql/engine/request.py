"""A GraphQL request as the transports receive it, checked for shape before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode, OperationType

from bff.errors import BadRequest


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """``query``, ``variables``, ``operationName`` and ``extensions`` of one operation."""

    query: str | None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None

    @classmethod
    def of(cls, data: object) -> GraphQLRequest:
        """From a request body or ``subscribe`` payload; :class:`BadRequest` when its
        members have the wrong types (GraphQL over HTTP: a 400, nothing runs)."""
        if not isinstance(data, Mapping):
            raise BadRequest("the request must be a JSON object")
        query = data.get("query")
        if query is not None and not isinstance(query, str):
            raise BadRequest("`query` must be a string")
        variables = data.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise BadRequest("`variables` must be an object")
        name = data.get("operationName")
        if name is not None and not isinstance(name, str):
            raise BadRequest("`operationName` must be a string")
        extensions = data.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            raise BadRequest("`extensions` must be an object")
        return cls(query, variables, name or None, extensions)


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
