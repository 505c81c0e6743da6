"""Reading a GraphQL request from a client: one place for every transport.

A request must be UTF-8 JSON, one object whose ``query`` and ``operationName`` are strings
and whose ``variables`` and ``extensions`` are objects (each may be null or absent),
nested at most :data:`MAX_JSON_DEPTH` deep, with a query of at most ``max_query_bytes``
bytes. Anything else is a :class:`~bff.errors.BadRequest` saying what is wrong (400, or
413 ``QUERY_TOO_LARGE``): nothing runs, nothing answers 500.
"""

from __future__ import annotations

import json
from typing import Any

from bff.errors import BadRequest
from bff.graphql.engine.request import GraphQLRequest

#: How deep a request's JSON may nest. Our deepest input is 4 levels (a charging
#: profile's periods); graphql-core and json recurse, so thousands of levels would reach
#: Python's recursion limit.
MAX_JSON_DEPTH = 32


def parse_json(text: str | bytes, what: str) -> Any:
    """``text`` parsed, or :class:`BadRequest` saying why not."""
    try:
        return json.loads(text)
    except RecursionError:
        raise too_deep(what) from None
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not UTF-8") from None
    except ValueError:
        raise BadRequest(f"{what} is not valid JSON") from None


def read_request(data: object, max_query_bytes: int, what: str = "the body") -> GraphQLRequest:
    """The request in ``data`` (see the module docstring)."""
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object (one GraphQL request)")
    for key in ("query", "operationName"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise BadRequest(f"`{key}` must be a string")
    for key in ("variables", "extensions"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise BadRequest(f"`{key}` must be an object")
    query = data.get("query")
    if query is not None and utf8_length(query) > max_query_bytes:
        raise BadRequest(f"the query is over {max_query_bytes} bytes", 413, "QUERY_TOO_LARGE")
    if deeper_than(data, MAX_JSON_DEPTH):
        raise too_deep(what)
    return GraphQLRequest(
        query, data.get("variables"), data.get("operationName") or None, data.get("extensions")
    )


def too_deep(what: str) -> BadRequest:
    return BadRequest(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")


def utf8_length(text: str) -> int:
    # Each character is 1 to 4 bytes: encode only when the answer is not plain.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def deeper_than(value: dict[str, Any] | list[Any], limit: int) -> bool:
    """Whether JSON ``value`` nests more than ``limit`` containers deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False
