"""``@plain_field``: a computed field that Strawberry resolves like a stored attribute.

Strawberry runs a field with a resolver through an ``Info``, an argument conversion and
its field extensions on every call; a field without one is read straight from its
parent (``is_basic_field``). A page of 20 history sessions resolves a few hundred
computed fields that need none of that: each is a synchronous method of its type taking
only ``self``. Declared with ``@plain_field()``, such a method is called straight from
the parent instead. Anything else (arguments, ``info``, async, extensions) is refused
when the type is declared: use ``@strawberry.field`` for those.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import strawberry
from strawberry.types.field import StrawberryField

T = TypeVar("T")


class _PlainField(StrawberryField):
    """A Strawberry field whose resolver is called as ``resolver(parent)``."""

    @property
    def is_basic_field(self) -> bool:
        return not self.extensions

    def get_result(
        self, source: Any, info: Any, args: list[Any], kwargs: Any
    ) -> Awaitable[Any] | Any:
        resolver = self.base_resolver
        if resolver is None:  # pragma: no cover - plain_field always has one
            return super().get_result(source, info, args, kwargs)
        return cast(Callable[[Any], Any], resolver.wrapped_func)(source)


def plain_field(*, description: str | None = None) -> Callable[[Callable[[Any], T]], T]:
    """Like ``@strawberry.field(description=...)`` on a synchronous method that takes
    only ``self``, resolved without Strawberry's per-call wrapping (see the module)."""

    def declare(method: Callable[[Any], T]) -> T:
        params = list(inspect.signature(method).parameters)
        if inspect.iscoroutinefunction(method) or params != ["self"]:
            raise TypeError(
                f"plain_field needs a synchronous method taking only self: {method.__name__}"
            )
        field = cast(Any, strawberry.field(resolver=method, description=description))
        field.__class__ = _PlainField
        return cast(T, field)

    return declare
