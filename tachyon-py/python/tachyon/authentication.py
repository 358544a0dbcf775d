"""Authentication: users, credentials, backends and the `requires` decorator."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec
from urllib.parse import urlencode

from tachyon._utils import is_async_callable
from tachyon.exceptions import HTTPException
from tachyon.requests import HTTPConnection, Request
from tachyon.responses import RedirectResponse, Response
from tachyon.websockets import WebSocket

__all__ = [
    "AuthCredentials",
    "AuthenticationBackend",
    "AuthenticationError",
    "BaseUser",
    "SimpleUser",
    "UnauthenticatedUser",
    "has_required_scope",
    "requires",
]

_P = ParamSpec("_P")


def has_required_scope(conn: HTTPConnection, scopes: Sequence[str]) -> bool:
    """Whether the connection's credentials include every one of `scopes`."""
    granted = conn.auth.scopes
    return all(scope in granted for scope in scopes)


def _connection_parameter(func: Callable[..., Any]) -> tuple[int, str]:
    """The position and name of the `request` or `websocket` parameter of `func`."""
    for idx, parameter in enumerate(inspect.signature(func).parameters.values()):
        if parameter.name in ("request", "websocket"):
            return idx, parameter.name
    raise Exception(f'No "request" or "websocket" argument on function "{func}"')


def requires(
    scopes: str | Sequence[str],
    status_code: int = 403,
    redirect: str | None = None,
) -> Callable[[Callable[_P, Any]], Callable[_P, Any]]:
    """Guard an endpoint: without all `scopes`, raise HTTPException(`status_code`), or
    redirect (303) to the route named `redirect` with `?next=<this url>`; a WebSocket is closed.

    The endpoint must take a parameter named `request` or `websocket`.
    """
    scopes_list = [scopes] if isinstance(scopes, str) else list(scopes)

    def decorator(func: Callable[_P, Any]) -> Callable[_P, Any]:
        idx, kind = _connection_parameter(func)

        def find(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return kwargs.get(kind, args[idx] if idx < len(args) else None)

        def refuse(request: Request) -> Response:
            if redirect is None:
                raise HTTPException(status_code=status_code)
            next_query = urlencode({"next": str(request.url)})
            return RedirectResponse(url=f"{request.url_for(redirect)}?{next_query}", status_code=303)

        def check_request(request: Any) -> None:
            assert isinstance(request, Request), (
                f"Parameter with name 'request' is required to be of type 'Request' not '{type(request).__name__}'"
            )

        if kind == "websocket":

            @functools.wraps(func)
            async def websocket_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> None:
                websocket = find(args, kwargs)
                assert isinstance(websocket, WebSocket), (
                    "Parameter with name 'websocket' is required to be of type 'WebSocket'"
                    f" not '{type(websocket).__name__}'"
                )
                if has_required_scope(websocket, scopes_list):
                    await func(*args, **kwargs)
                else:
                    await websocket.close()

            return websocket_wrapper

        if is_async_callable(func):

            @functools.wraps(func)
            async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                request = find(args, kwargs)
                check_request(request)
                if not has_required_scope(request, scopes_list):
                    return refuse(request)
                return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def sync_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            request = find(args, kwargs)
            check_request(request)
            if not has_required_scope(request, scopes_list):
                return refuse(request)
            return func(*args, **kwargs)

        return sync_wrapper

    return decorator


class AuthenticationError(Exception):
    """Raised by a backend for credentials that are present but invalid."""


class AuthenticationBackend:
    """Override `authenticate`: return `(AuthCredentials, user)`, or None for anonymous."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        raise NotImplementedError()  # pragma: no cover


class AuthCredentials:
    """The scopes (permissions) granted to the caller."""

    def __init__(self, scopes: Sequence[str] | None = None):
        self.scopes = [] if scopes is None else list(scopes)


class BaseUser:
    """The interface of `request.user`."""

    @property
    def is_authenticated(self) -> bool:
        raise NotImplementedError()  # pragma: no cover

    @property
    def display_name(self) -> str:
        raise NotImplementedError()  # pragma: no cover

    @property
    def identity(self) -> str:
        raise NotImplementedError()  # pragma: no cover


class SimpleUser(BaseUser):
    """An authenticated user known only by name."""

    def __init__(self, username: str) -> None:
        self.username = username

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username

    @property
    def identity(self) -> str:
        return self.username


class UnauthenticatedUser(BaseUser):
    """The anonymous user."""

    @property
    def is_authenticated(self) -> bool:
        return False

    @property
    def display_name(self) -> str:
        return ""

    @property
    def identity(self) -> str:
        return ""
