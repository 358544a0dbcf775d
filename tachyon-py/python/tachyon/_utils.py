"""Small helpers shared by the package (private)."""

from __future__ import annotations

import functools
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import anyio
import anyio.abc

# Starlette's get_route_path(scope): the rule lives in tachyon-router (`route_path`).
from tachyon._tachyon import get_route_path as get_route_path
from tachyon._tachyon import parse_host_header as _parse_host_header

if sys.version_info >= (3, 13):  # pragma: no cover
    from inspect import iscoroutinefunction
else:  # pragma: no cover
    from asyncio import iscoroutinefunction

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ParsedHost:
    """A Host header split into host (brackets kept for IP literals) and port."""

    host: str
    port: str | None
    is_valid_port: bool
    """Whether the port is absent or within 0..65535."""

    @property
    def authority(self) -> str:
        """`host[:port]` as it goes in a URL."""
        return self.host if self.port is None else f"{self.host}:{self.port}"


def parse_host_header(host_header: str | None) -> ParsedHost | None:
    """Split a Host header into host and port; `None` when absent or invalid.

    Valid: an RFC 3986 reg-name or a bracketed IP literal (IPv6 or IPvFuture), then an
    optional port; a Host header that could alter the URL's path or authority is treated as
    absent. The rule is tachyon-core's `url::parse_host_header`.
    """
    if host_header is None:
        return None
    parsed = _parse_host_header(host_header)
    return None if parsed is None else ParsedHost(*parsed)


def is_async_callable(obj: Any) -> bool:
    """Whether calling `obj` returns an awaitable (looking through functools.partial)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return iscoroutinefunction(obj) or (callable(obj) and iscoroutinefunction(obj.__call__))


class SupportsAsyncClose(Protocol):
    async def close(self) -> None: ...  # pragma: no cover


C = TypeVar("C", bound=SupportsAsyncClose)


class AwaitableOrContextManagerWrapper(Generic[C]):
    """Lets `await x` and `async with x as y` both work on one awaitable."""

    __slots__ = ("aw", "entered")

    def __init__(self, aw: Awaitable[C]) -> None:
        self.aw = aw

    def __await__(self) -> Generator[Any, None, C]:
        return self.aw.__await__()

    async def __aenter__(self) -> C:
        self.entered = await self.aw
        return self.entered

    async def __aexit__(self, *args: Any) -> None:
        await self.entered.close()


AwaitableCallable = Callable[..., Awaitable[T]]


@asynccontextmanager
async def create_collapsing_task_group() -> AsyncGenerator[anyio.abc.TaskGroup, None]:
    """A task group that re-raises a lone failure as itself rather than in an ExceptionGroup.

    Code written for Starlette catches the app's own exception types, so a single error
    must come out unwrapped (with its original cause or context).
    """
    try:
        async with anyio.create_task_group() as task_group:
            yield task_group
    except BaseExceptionGroup as group:
        if len(group.exceptions) != 1:
            raise
        only = group.exceptions[0]
        raise only from only.__cause__ or (None if only.__suppress_context__ else only.__context__)
