"""The one dispatcher: how every entry point hands an http request to the app.

ASGI (`TachyonEngine.__call__`), RSGI (`tachyon.rsgi.serve`) and the standalone built-in
middleware all ask the same question, once, when the middleware stack is built: is this
stack only the built-in layers around a plain Router (`fused_path`)? If so, they call
the stack's `FusedPath.native` (`tachyon._tachyon.FusedDispatch`), which serves the
common request in one native frame: route, child scope, Request, a plain function
endpoint's coroutine stepped directly, the plain Response sent as `Response.__call__`
sends it, then its background task. Everything else the native frame hands back to the
coroutines below, which are the layers' own behaviour written as one frame:
exception handlers, ServerErrorMiddleware's 500 and debug page, 404, 405, redirects,
routes that are not plain function endpoints, Response subclasses with their own
`__call__`. If the stack is anything else (user middleware, a subclassed layer or
router), the stack itself is called, which is Starlette's path exactly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tachyon._exception_handler import SCOPE_KEY, SERVER_ERRORS, ResponseTracker, handle_exception
from tachyon._tachyon import FusedDispatch, LazyScope
from tachyon.requests import Request
from tachyon.responses import Response
from tachyon.routing import Router

if TYPE_CHECKING:
    from tachyon.middleware.errors import ServerErrorMiddleware
    from tachyon.middleware.exceptions import ExceptionMiddleware
    from tachyon.types import ASGIApp, Receive, Scope, Send

__all__ = ["FusedPath", "LazyScopeRequest", "dispatcher_for", "fused_path"]

SendResponse = Callable[[Response], None]


class LazyScopeRequest(Request):
    """The Request the native dispatcher gives a plain function endpoint under RSGI, whose
    scope (`tachyon._tachyon.LazyScope`) is built only when something reads it.

    Until then its instance has no `scope` attribute; the first attribute it lacks, `scope`
    or any other, completes the scope and turns the object into a plain `Request` (the
    class is swapped, the layouts being the same), so from then on it is one in every
    respect, and a handler that never reads its request never pays for the scope. It has
    Request's name and module, so its repr is a Request's too.
    """

    def __init__(self, lazy: LazyScope, receive: Receive, send: Send) -> None:
        """A request whose scope is `lazy.complete()` (no assertion on its type: it is http)."""
        self._lazy_scope = lazy
        self._receive = receive
        self._send = send

    def __getattr__(self, name: str) -> Any:
        namespace = self.__dict__
        lazy = namespace.get("_lazy_scope")
        if lazy is None:  # pragma: no cover - the class is swapped when the scope is built
            return object.__getattribute__(self, name)
        scope = lazy.complete()
        del namespace["_lazy_scope"]
        namespace["scope"] = scope
        self.__class__ = Request  # type: ignore[assignment]
        return getattr(self, name)


LazyScopeRequest.__name__ = LazyScopeRequest.__qualname__ = "Request"
LazyScopeRequest.__module__ = Request.__module__


class FusedPath:
    """A built-in stack (ServerErrorMiddleware, if given, around an ExceptionMiddleware
    around a plain Router) served as one step; `native` is its dispatcher."""

    def __init__(self, server_errors: ServerErrorMiddleware | None, exceptions: ExceptionMiddleware) -> None:
        self.server_errors = server_errors
        self.exceptions = exceptions
        self.router: Router = exceptions.app  # type: ignore[assignment]
        self.handlers = (exceptions._exception_handlers, exceptions._status_handlers)
        self.scope_key = SCOPE_KEY
        self.request_class = Request
        self.lazy_request_class = LazyScopeRequest
        self.plain_call = Response.__call__
        # Scopes that are not http go through the layers themselves.
        self.stack: ASGIApp = exceptions if server_errors is None else server_errors
        self.native = FusedDispatch(self)

    async def serve_http(
        self, scope: Scope, receive: Receive, send: Send, send_response: SendResponse | None = None
    ) -> None:
        """Route and serve an http request (the native table could not answer alone)."""
        try:
            found = self.router.resolve(scope)
        except SERVER_ERRORS as exc:
            await self.recover(exc, None, scope, receive, send, False)
            return
        await self.serve_found(found, scope, receive, send, send_response)

    async def serve_found(
        self,
        found: tuple[Any, bool, Any] | None,
        scope: Scope,
        receive: Receive,
        send: Send,
        send_response: SendResponse | None = None,
    ) -> None:
        """Serve a routed request, `found` being `Router.resolve`'s answer (child scope written).

        Equivalent to `wrap_app_handling_exceptions(router)` plus the route-level wrapper
        `request_response` adds, without their per-request closures and send wrappers: a
        plain function endpoint is called here, and an exception it raises reaches its
        handler with the endpoint's own Request, as the route-level wrapper passes it. A
        plain Response goes whole to `send_response` when given (RSGI's `response_bytes`).
        """
        exceptions = self.exceptions
        request = None
        # Whether the response had started is only needed when something fails. A plain
        # Response sends its start message first thing, so a failure inside it means
        # "started"; anything else is watched through a ResponseTracker.
        tracker: ResponseTracker | None = None
        started_if_failed = False
        try:
            if found is not None:
                route, full, direct = found
                # `direct` stands only while the route's app is the one it was built with.
                if direct is not None and route.app is route._direct_app:
                    request = Request(scope, receive, send)
                    response = await direct(request)
                    if type(response).__call__ is not Response.__call__:
                        tracker = ResponseTracker(send)
                        await response(scope, receive, tracker)
                        return
                elif not full and exceptions._plain_method_not_allowed(route):
                    # What Route.handle's HTTPException(405) and the default handler
                    # produce, without the raise.
                    response = exceptions.method_not_allowed(route)
                else:
                    tracker = ResponseTracker(send)
                    await route.handle(scope, receive, tracker)
                    return
            else:
                router = self.router
                redirect = router.redirect_for(scope)
                if redirect is None and exceptions._plain_not_found(router):
                    # What raising HTTPException(404) from Router.not_found and answering
                    # it with the default handler produces, without the raise.
                    response = exceptions.not_found_response()
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
        except SERVER_ERRORS as exc:
            started = started_if_failed if tracker is None else tracker.started
            await self.recover(exc, request, scope, receive, send, started)

    def plain_answer(self, found: tuple[Any, bool, Any] | None, scope: Scope) -> Response | None:
        """The default handlers' 404 or 405 for a routed request that is not a plain
        endpoint call, when nothing else would answer it (see `serve_found`), else None."""
        exceptions = self.exceptions
        if found is None:
            router = self.router
            if router.redirect_for(scope) is None and exceptions._plain_not_found(router):
                return exceptions.not_found_response()
            return None
        route, full, _ = found
        if not full and exceptions._plain_method_not_allowed(route):
            return exceptions.method_not_allowed(route)
        return None

    async def finish(self, response: Any, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        """Send what a plain function endpoint returned when it is not a plain Response."""
        tracker = ResponseTracker(send)
        try:
            await response(scope, receive, tracker)
        except SERVER_ERRORS as exc:
            await self.recover(exc, request, scope, receive, send, tracker.started)

    async def recover(
        self, exc: BaseException, request: Request | None, scope: Scope, receive: Receive, send: Send, started: bool
    ) -> None:
        """Answer `exc` as the layers would: its registered handler's response, else (with
        a ServerErrorMiddleware) the 500, and raise it again."""
        tracker = ResponseTracker(send)
        tracker.started = started
        try:
            conn = request if request is not None else Request(scope, receive, send)
            await handle_exception(exc, conn, self.handlers, scope, receive, tracker)
        except SERVER_ERRORS as error:
            if self.server_errors is None:
                raise
            await self.server_errors.respond_and_reraise(error, scope, receive, send, tracker.started)

    @staticmethod
    async def await_any(awaitable: Awaitable[Any]) -> Any:
        """`await awaitable`, for objects the native dispatcher does not step itself."""
        return await awaitable


def fused_path(layer: Any) -> FusedPath | None:
    """The FusedPath of a stack whose outer layer is `layer`, or None if it has none.

    Fused: a ServerErrorMiddleware (exactly that class) directly around an
    ExceptionMiddleware (exactly), or an ExceptionMiddleware alone, around a Router
    with no router middleware whose class dispatches as Router does. Anything else is
    served by calling the layers.
    """
    from tachyon.middleware.errors import ServerErrorMiddleware
    from tachyon.middleware.exceptions import ExceptionMiddleware

    server_errors = None
    if type(layer) is ServerErrorMiddleware:
        server_errors, layer = layer, layer.app
    if type(layer) is not ExceptionMiddleware:
        return None
    router = layer.app
    if not isinstance(router, Router) or not router.can_serve_directly():
        return None
    return FusedPath(server_errors, layer)


def dispatcher_for(stack: ASGIApp) -> ASGIApp:
    """What to call for a request to `stack`: its native fused dispatcher, or the stack."""
    path = fused_path(stack)
    return stack if path is None else path.native
