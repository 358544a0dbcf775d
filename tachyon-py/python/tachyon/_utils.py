"""Small helpers shared by the package (private)."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv6Address
from typing import Any, Generic, Protocol, TypeVar

import anyio
import anyio.abc

from tachyon.types import Scope

if sys.version_info >= (3, 13):  # pragma: no cover
    from inspect import iscoroutinefunction
else:  # pragma: no cover
    from asyncio import iscoroutinefunction

T = TypeVar("T")

# RFC 3986 reg-name characters, or a bracketed IP literal (IPv6 or IPvFuture), then an
# optional port. A Host header that could alter the URL's path or authority is treated as absent.
_REG_NAME = r"[a-z0-9._~%!$&'()*+,;=-]+"
_IP_LITERAL = r"\[(?:(?P<ipv6>[a-f0-9]*:[a-f0-9.:]+)|(?-i:v)[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+)\]"
_HOST_RE = re.compile(rf"(?P<host>{_REG_NAME}|{_IP_LITERAL})(?::(?P<port>[0-9]+))?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedHost:
    """A Host header split into host (brackets kept for IP literals) and port."""

    host: str
    port: str | None

    @property
    def authority(self) -> str:
        """`host[:port]` as it goes in a URL."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def is_valid_port(self) -> bool:
        """Whether the port is absent or within 0..65535."""
        if self.port is None:
            return True
        digits = self.port.lstrip("0")
        return len(digits) <= 5 and int(digits or "0") <= 65535


def parse_host_header(host_header: str | None) -> ParsedHost | None:
    """Split a Host header into host and port; `None` when absent or invalid."""
    if host_header is None:
        return None
    found = _HOST_RE.fullmatch(host_header)
    if found is None:
        return None
    ipv6 = found["ipv6"]
    if ipv6 is not None:
        try:
            IPv6Address(ipv6)
        except AddressValueError:
            return None
    return ParsedHost(found["host"], found["port"])


def is_async_callable(obj: Any) -> bool:
    """Whether calling `obj` returns an awaitable (looking through functools.partial)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return iscoroutinefunction(obj) or (callable(obj) and iscoroutinefunction(obj.__call__))


def get_route_path(scope: Scope) -> str:
    """The part of `scope["path"]` below `scope["root_path"]`, which routing matches."""
    path: str = scope["path"]
    root_path = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path


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
