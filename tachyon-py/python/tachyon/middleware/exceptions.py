"""ExceptionMiddleware: HTTPException and registered handlers become responses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from tachyon._exception_handler import (
    SCOPE_KEY,
    ExceptionHandlers,
    ResponseTracker,
    StatusHandlers,
    handle_exception,
    wrap_app_handling_exceptions,
)
from tachyon._tachyon import content_length_header
from tachyon.exceptions import HTTPException, WebSocketException
from tachyon.requests import Request
from tachyon.responses import PlainTextResponse, Response
from tachyon.routing import BaseRoute, Route, Router
from tachyon.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

if TYPE_CHECKING:
    from tachyon.middleware.errors import ServerErrorMiddleware

_PLAIN_RESPONSE_CALL = Response.__call__
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "http" and isinstance(self.app, Router) and self.app.can_serve_directly():
            await self.serve_http(scope, receive, send)
            return
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = (self._exception_handlers, self._status_handlers)
        if scope_type == "http":
            conn: Any = Request(scope, receive, send)
        else:
            from tachyon.websockets import WebSocket

            conn = WebSocket(scope, receive, send)
        await wrap_app_handling_exceptions(self.app, conn)(scope, receive, send)

    def can_serve_directly(self) -> bool:
        """Whether `serve_http` may stand in for this layer and its router (see there)."""
        app = self.app
        return isinstance(app, Router) and app.can_serve_directly()

    async def serve_http(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        server_errors: ServerErrorMiddleware | None = None,
        send_response: Callable[[Response], None] | None = None,
    ) -> None:
        """Route and serve an http request with this layer's exception handling, in one frame.

        Equivalent to `wrap_app_handling_exceptions(router)` plus the route-level wrapper
        `request_response` adds, without their per-request closures and send wrappers: a
        plain function endpoint is called here, and an exception it raises reaches its
        handler with the endpoint's own Request, as the route-level wrapper passes it.
        With `server_errors` (the ServerErrorMiddleware directly around this layer), its
        500 handling is done here too, so the whole built-in stack is one frame. A server
        adapter may pass `send_response` to take a plain Response whole instead of as two
        ASGI messages (RSGI's `response_bytes`).
        """
        router = cast(Router, self.app)
        handlers = (self._exception_handlers, self._status_handlers)
        scope[SCOPE_KEY] = handlers
        if "router" not in scope:
            scope["router"] = router
        request = None
        # Whether the response had started is only needed when something fails. A plain
        # Response sends its start message first thing, so a failure inside it means
        # "started"; anything else is watched through a ResponseTracker.
        tracker: ResponseTracker | None = None
        started_if_failed = False
        try:
            try:
                # The router's compiled table answers alone while it is current (no Python
                # frame for the common case); NotImplemented: Router.resolve decides.
                table = router._table
                found = NotImplemented if table is None else table.route(scope)
                if found is NotImplemented:
                    found = router.resolve(scope)
                if found is not None:
                    route, full, direct = found
                    # `direct` stands only while the route's app is the one it was built with.
                    if direct is not None and route.app is route._direct_app:  # type: ignore[attr-defined]
                        request = Request(scope, receive, send)
                        response = await direct(request)
                        if type(response).__call__ is not _PLAIN_RESPONSE_CALL:
                            tracker = ResponseTracker(send)
                            await response(scope, receive, tracker)
                            return
                    elif not full and self._plain_method_not_allowed(route):
                        # What Route.handle's HTTPException(405) and the default handler
                        # produce, without the raise.
                        allow = ", ".join(route.methods).encode("latin-1")  # type: ignore[attr-defined]
                        response = _plain_text(_NOT_ALLOWED, (b"allow", allow))
                    else:
                        tracker = ResponseTracker(send)
                        await route.handle(scope, receive, tracker)
                        return
                else:
                    redirect = router.redirect_for(scope)
                    if redirect is None and self._plain_not_found(router):
                        # What raising HTTPException(404) from Router.not_found and answering
                        # it with the default handler produces, without the raise.
                        response = _plain_text(_NOT_FOUND)
                    else:
                        tracker = ResponseTracker(send)
                        if redirect is not None:
                            await redirect(scope, receive, tracker)
                        else:
                            await router.default(scope, receive, tracker)
                        return
                # A plain Response, sent whole (to `send_response` when given).
                started_if_failed = True
                if send_response is None:
                    await response(scope, receive, send)
                else:
                    send_response(response)
                    if response.background is not None:
                        await response.background()
            except Exception as exc:
                if tracker is None:
                    tracker = ResponseTracker(send)
                    tracker.started = started_if_failed
                conn = request if request is not None else Request(scope, receive, send)
                await handle_exception(exc, conn, handlers, scope, receive, tracker)
        except Exception as exc:
            if server_errors is None:
                raise
            assert tracker is not None
            await server_errors.respond_and_reraise(exc, scope, receive, send, tracker.started)

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
