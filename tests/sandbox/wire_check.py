"""A simulator's JSON against a client's pydantic models, seen from the outside.

The client and the simulator of a provider share no wire code, so each can be wrong
alone. The models ignore fields they do not declare, so a field renamed on one side
would not fail a parse, only quietly read as missing: :func:`undeclared` names every key
the other side's model does not declare, and :class:`WireLog` records what went over
the wire so that each answer (and each request) can be checked after the call.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_args

import httpx
from pydantic import BaseModel

from tests.support import wait_for

T = TypeVar("T")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field's annotation (``X | None``, ``list[X]``, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def undeclared(model: type[BaseModel], data: object, path: str = "") -> list[str]:
    """Keys of ``data`` that ``model`` (and its nested models) does not declare, as paths
    like ``locations[].evses[].connectors[].format``."""
    if isinstance(data, list):
        return [p for item in data for p in undeclared(model, item, f"{path}[]")]
    if not isinstance(data, dict):
        return []
    fields = {f.alias or name: f for name, f in model.model_fields.items()}
    found: list[str] = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        declared = fields.get(key)
        if declared is None:
            found.append(where)
            continue
        for nested in _models_in(declared.annotation):
            found.extend(undeclared(nested, value, where))
    return found


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    request: bytes
    status: int
    response: bytes

    def json(self) -> Any:
        return json.loads(self.response)

    def request_json(self) -> Any:
        return json.loads(self.request) if self.request else None


@dataclass
class WireLog:
    """Every request the client sends and the answer it gets (an httpx response hook)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def attach(self, client: httpx.AsyncClient) -> None:
        client.event_hooks["response"].append(self._record)

    async def _record(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        self.exchanges.append(
            Exchange(
                request.method, request.url.path, request.content,
                response.status_code, response.content,
            )
        )  # fmt: skip


@dataclass
class ContractRun:
    """Calls a client's methods and checks each answer against the model it parsed it with.

    ``ignored`` names the paths a client knowingly leaves unread; every other key a
    simulator sends must be declared by the client's model, or :attr:`problems` says so.
    """

    client: object
    log: WireLog
    ignored: frozenset[str] = frozenset()
    skip_paths: tuple[str, ...] = ()  # e.g. the token endpoint, checked on its own
    called: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    async def call(self, name: str, model: type[BaseModel], *args: Any, **kwargs: Any) -> Any:
        """``client.<name>(...)``; its answers checked against ``model``."""
        start = len(self.log.exchanges)
        method: Callable[..., Awaitable[Any]] = getattr(self.client, name)
        result = await method(*args, **kwargs)
        self.called.add(name)
        answers = [
            x for x in self.log.exchanges[start:] if not any(map(x.path.endswith, self.skip_paths))
        ]
        assert answers, f"{name} sent nothing"
        for x in answers:
            self.check(f"{name} {x.method} {x.path} {x.status}", model, x.json())
        return result

    def check(self, what: str, model: type[BaseModel], data: object) -> None:
        # The client's model reads it: required fields present, values in range.
        model.model_validate_json(json.dumps(data))
        extra = sorted(set(undeclared(model, data)) - self.ignored)
        if extra:
            self.problems.append(f"{what}: {model.__name__} does not declare {extra}")

    def uncovered(self) -> set[str]:
        """The client's public endpoints this run did not call."""
        methods = inspect.getmembers(type(self.client), inspect.iscoroutinefunction)
        return {n for n, _ in methods if not n.startswith("_")} - self.called


async def until(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    """``probe()`` until ``ok`` holds for its value, within 10 s."""

    async def attempt() -> tuple[T] | None:
        value = await probe()
        return (value,) if ok(value) else None

    return (await wait_for(attempt, timeout=10.0, what="the simulator's session"))[0]
