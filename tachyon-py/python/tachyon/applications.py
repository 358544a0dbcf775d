"""The application object: `TachyonEngine` (also importable as `Starlette`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from tachyon._dispatch import dispatcher_for
from tachyon.datastructures import State, URLPath
from tachyon.middleware import Middleware, _MiddlewareFactory
from tachyon.middleware.body_limit import RequestBodyLimitMiddleware
from tachyon.middleware.errors import ServerErrorMiddleware
from tachyon.middleware.exceptions import ExceptionMiddleware
from tachyon.requests import Request
from tachyon.responses import Response
from tachyon.routing import _DEFAULT_LIFESPAN, BaseRoute, RouteList, Router
from tachyon.types import ASGIApp, ExceptionHandler, Lifespan, Receive, Scope, Send

__all__ = ["Starlette", "TachyonEngine"]

AppType = TypeVar("AppType", bound="TachyonEngine")
_new_object = object.__new__
_object_setattr = object.__setattr__
_STATE = State
_STATE_INIT = State.__init__
_ROUTER = Router
_ROUTER_INIT = Router.__init__
P = ParamSpec("P")


class TachyonEngine:
    """An ASGI application: routes, middleware, exception handlers and lifespan.

    Parameters:
        debug: Return tracebacks in 500 responses.
        routes: The routes to serve, tried in order.
        middleware: User middleware, outermost first. `ServerErrorMiddleware` always wraps
            everything and `ExceptionMiddleware` always sits just above the router.
        exception_handlers: Status codes or exception classes mapped to
            `handler(request, exc) -> response` (sync or async).
        lifespan: An async context manager factory run around the app's life.
        max_body_size: The largest request body accepted, in bytes (413 beyond it);
            None, the default, sets no limit.
    """

    # Class-level defaults, so a subclass that never runs `__init__` (FastAPI's does not)
    # still has every attribute the request path reads: it just takes the general path.
    middleware_stack: ASGIApp | None = None
    # (stack, what to call for a request to it): set when the stack is built, see _dispatcher.
    _dispatch: tuple[ASGIApp, ASGIApp] | None = None

    def __init__(
        self: AppType,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        lifespan: Lifespan[AppType] | None = None,
        *,
        max_body_size: int | None = None,
    ) -> None:
        self.debug = debug
        if State is _STATE and _STATE.__init__ is _STATE_INIT:
            # `State()` without its __init__'s frame: what that __init__ does for State itself
            # (building the app is a few frames in all, so one shows). A replaced State, or
            # a replaced __init__, is called as usual.
            state = _new_object(State)
            _object_setattr(state, "_state", {})
            self.state = state
        else:
            self.state = State()
        if Router is _ROUTER and lifespan is None and _ROUTER.__init__ is _ROUTER_INIT:
            # `Router(routes)` without its __init__'s frame: what that __init__ stores for
            # Router itself with no lifespan, middleware or default, in the same order. A
            # replaced Router or Router.__init__, or a lifespan, takes the call below.
            router = _new_object(Router)
            router._routes = RouteList() if routes is None else RouteList(routes)
            router.redirect_slashes = True
            router.lifespan_context = _DEFAULT_LIFESPAN
            self.router = router
        else:
            # Positional (Router's own parameter order): a keyword call to a class costs a dict.
            self.router = (
                Router(routes, True, None, lifespan) if Router is _ROUTER else Router(routes, lifespan=lifespan)
            )
        self.max_body_size = max_body_size
        self.exception_handlers = {} if exception_handlers is None else dict(exception_handlers)
        self.user_middleware = [] if middleware is None else list(middleware)
        self.middleware_stack: ASGIApp | None = None

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap the router in the built-in and user middleware."""
        error_handler = None
        exception_handlers: dict[Any, ExceptionHandler] = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                exception_handlers[key] = value

        middleware = [Middleware(ServerErrorMiddleware, handler=error_handler, debug=self.debug)]
        if self.max_body_size is not None:
            middleware.append(Middleware(RequestBodyLimitMiddleware, max_body_size=self.max_body_size))
        middleware += self.user_middleware
        middleware.append(Middleware(ExceptionMiddleware, handlers=exception_handlers, debug=self.debug))
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        # Whether a request to this stack can be served in one native step is decided now,
        # once (tachyon._dispatch); __call__ and the RSGI entry point read the answer.
        self._dispatch = (app, dispatcher_for(app))
        return app

    @property
    def routes(self) -> list[BaseRoute]:
        """The router's route list (mutable)."""
        return self.router.routes

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called `name` with these params."""
        return self.router.url_path_for(name, **path_params)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        plan = self._dispatch
        if plan is None or plan[0] is not self.middleware_stack:
            await self._dispatcher()(scope, receive, send)
            return
        await plan[1](scope, receive, send)

    def _dispatcher(self) -> ASGIApp:
        """What every entry point calls for a request: the stack's one dispatcher
        (tachyon._dispatch), building the stack on first use. A subclass's own
        `build_middleware_stack`, or a stack set by hand, is asked here on first use."""
        stack = self.middleware_stack
        if stack is None:
            stack = self.middleware_stack = self.build_middleware_stack()
        plan = self._dispatch
        if plan is None or plan[0] is not stack:
            plan = self._dispatch = (stack, dispatcher_for(stack))
        return plan[1]

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve `app` below `path`."""
        self.router.mount(path, app=app, name=name)

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve `app` for requests to `host`."""
        self.router.host(host, app=app, name=name)

    def add_middleware(self, middleware_class: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        """Add a middleware outside the ones already declared (before the app starts)."""
        if self.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def add_exception_handler(self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler) -> None:
        """Register an exception handler (before the app starts)."""
        self.exception_handlers[exc_class_or_status_code] = handler

    def add_route(
        self,
        path: str | BaseRoute,
        route: Callable[[Request], Awaitable[Response] | Response] | None = None,
        methods: list[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Add a route: `add_route("/", endpoint, methods=...)` or `add_route(Route("/", endpoint))`."""
        self.router.add_route(path, route, methods=methods, name=name, include_in_schema=include_in_schema)

    # The leading parameters of tachyon.server.run, defaults included, written out so that
    # help(app.run) shows them; test_serving.py checks that the two signatures agree.
    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        workers: int = 1,
        server: str | None = None,
        reload: bool = False,
        log_level: str = "info",
        interface: str | None = None,
        *,
        header_timeout: float = 10.0,
        body_timeout: float | None = 60.0,
    ) -> None:
        """Serve the app on `server` ("native", "granian", "uvicorn" or "hypercorn"); by
        default on the native server on Linux, elsewhere on the first installed of
        `tachyon.server.SERVERS` (Granian, over RSGI unless the app has WebSocket routes, then
        uvicorn, then hypercorn), as `tachyon.server.choose_server` says.

        A client gets `header_timeout` seconds to send its headers and `body_timeout` to send
        its body (None: no deadline). See `tachyon.server.run`; `python -m tachyon module:app`
        is the same from a shell.
        """
        from tachyon.server import run

        run(
            self,
            host=host,
            port=port,
            workers=workers,
            server=server,
            reload=reload,
            log_level=log_level,
            interface=interface,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
        )

    # Imported here, with the methods that use it, rather than per call: a function-level
    # import costs ~0.5 µs a request (measured), and the serving code stays in one block.
    from tachyon import rsgi as _rsgi

    # `async def __rsgi__(self, scope, protocol)`: Granian's RSGI entry point. It is
    # `tachyon.rsgi.serve` itself, bound as the method, so a request costs no extra coroutine.
    __rsgi__ = _rsgi.serve

    def __rsgi_init__(self, loop: Any) -> None:
        """Run the lifespan startup when Granian starts an RSGI worker."""
        self._rsgi.lifespan_startup(self, loop)

    def __rsgi_del__(self, loop: Any) -> None:
        """Run the lifespan shutdown when Granian stops an RSGI worker."""
        self._rsgi.lifespan_shutdown(self, loop)


Starlette = TachyonEngine
