"""ExceptionMiddleware: HTTPException and registered handlers become responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tachyon._dispatch import fused_path
from tachyon._exception_handler import (
    SCOPE_KEY,
    ExceptionHandlers,
    StatusHandlers,
    wrap_app_handling_exceptions,
)
from tachyon._tachyon import content_length_header
from tachyon.exceptions import HTTPException, WebSocketException
from tachyon.requests import Request
from tachyon.responses import PlainTextResponse, Response
from tachyon.routing import BaseRoute, Route, Router
from tachyon.types import ASGIApp, ExceptionHandler, Receive, Scope, Send
from tachyon.websockets import WebSocket

if TYPE_CHECKING:
    from tachyon._dispatch import FusedPath

_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")
# The two bodies the fused path answers itself, with their content-length pairs from
# tachyon-core's rule, computed once (per request, the native call cost ~0.1 µs).
_NOT_FOUND = (404, b"Not Found", content_length_header(404, len(b"Not Found")))
_NOT_ALLOWED = (405, b"Method Not Allowed", content_length_header(405, len(b"Method Not Allowed")))


def _plain_text(answer: tuple[int, bytes, Any], header: tuple[bytes, bytes] | None = None) -> PlainTextResponse:
    """`PlainTextResponse(body, status_code, headers={name: value})` for one ASCII header
    (or none), built directly: the same attributes and header order, none of the general
    `__init__`'s rendering and header merging."""
    status_code, body, length = answer
    response = PlainTextResponse.__new__(PlainTextResponse)
    response.status_code = status_code
    response.background = None
    response.body = body
    response.raw_headers = [length, _TEXT_PLAIN] if header is None else [header, length, _TEXT_PLAIN]
    return response


__all__ = ["ExceptionMiddleware"]


class ExceptionMiddleware:
    """The innermost built-in middleware: maps handled exceptions to responses.

    Handlers are keyed by status code (for HTTPException) or by exception class.
    """

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[Any, ExceptionHandler] | None = None,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.debug = debug
        self._status_handlers: StatusHandlers = {}
        self._exception_handlers: ExceptionHandlers = {
            HTTPException: self.http_exception,
            WebSocketException: self.websocket_exception,
        }
        if handlers is not None:
            for key, value in handlers.items():
                self.add_exception_handler(key, value)

    def add_exception_handler(self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler) -> None:
        """Register `handler` for a status code or an exception class."""
        if isinstance(exc_class_or_status_code, int):
            self._status_handlers[exc_class_or_status_code] = handler
        else:
            assert issubclass(exc_class_or_status_code, Exception)
            self._exception_handlers[exc_class_or_status_code] = handler

    # (stack below, its fused path or None), decided on the first request and again only
    # if `app` is replaced (see tachyon._dispatch).
    _plan: tuple[ASGIApp, FusedPath | None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "http":
            plan = self._plan
            if plan is None or plan[0] is not self.app:
                plan = self._plan = (self.app, fused_path(self))
            if plan[1] is not None:
                await plan[1].native(scope, receive, send)
                return
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = (self._exception_handlers, self._status_handlers)
        if scope_type == "http":
            conn: Any = Request(scope, receive, send)
        else:
            conn = WebSocket(scope, receive, send)
        await wrap_app_handling_exceptions(self.app, conn)(scope, receive, send)

    def method_not_allowed(self, route: Route) -> PlainTextResponse:
        """The default handler's 405 for a wrong method on `route` (see `_plain_method_not_allowed`)."""
        allow = ", ".join(route.methods).encode("latin-1")  # type: ignore[arg-type]
        return _plain_text(_NOT_ALLOWED, (b"allow", allow))

    def not_found_response(self) -> PlainTextResponse:
        """The default handler's 404 (see `_plain_not_found`)."""
        return _plain_text(_NOT_FOUND)

    def _default_http_exception(self, status_code: int) -> bool:
        """Whether an HTTPException with this status gets the default handler's response."""
        return (
            status_code not in self._status_handlers
            and self._exception_handlers.get(HTTPException) == self.http_exception
            and type(self).http_exception is ExceptionMiddleware.http_exception
        )

    def _plain_method_not_allowed(self, route: BaseRoute) -> bool:
        """Whether a wrong method on `route` ends in the default handler's plain 405."""
        return (
            isinstance(route, Route)
            and type(route).handle is Route.handle
            and bool(route.methods)
            and self._default_http_exception(405)
        )

    def _plain_not_found(self, router: Router) -> bool:
        """Whether a miss would end in the default handler's plain 404 (nothing registered
        for 404 or HTTPException, the router's own not_found, no subclass overrides)."""
        return self._default_http_exception(404) and router.default == router.not_found

    async def http_exception(self, request: Request, exc: Exception) -> Response:
        """The default HTTPException handler: a plain-text response with the detail."""
        assert isinstance(exc, HTTPException)
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)

    async def websocket_exception(self, websocket: Any, exc: Exception) -> None:
        """The default WebSocketException handler: close with its code and reason."""
        assert isinstance(exc, WebSocketException)
        await websocket.close(code=exc.code, reason=exc.reason)
