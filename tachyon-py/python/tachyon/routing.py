"""Routing: Route, WebSocketRoute, Mount, Host and the Router that dispatches between them.

Semantics are Starlette's: the first route in declaration order that fully matches wins;
a route whose path matches but whose methods do not gives 405 when nothing else matches;
GET implies HEAD; a miss on `/x/` that would hit `/x` (or the reverse) redirects.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import traceback
import types
from collections.abc import Awaitable, Callable, Collection, Generator, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from enum import Enum
from inspect import CO_COROUTINE
from re import Pattern
from types import FunctionType
from typing import Any, Literal, TypeVar

from tachyon._exception_handler import wrap_app_handling_exceptions
from tachyon._tachyon import RouteKind, RouteMatcher, RouteTable, child_scope, native_matches, set_match_members
from tachyon._tachyon import compile_path as _native_compile_path
from tachyon._tachyon import rename_convertors as _rename_convertors
from tachyon._utils import get_route_path, is_async_callable, parse_host_header
from tachyon.compat import warn_here
from tachyon.concurrency import run_in_threadpool
from tachyon.convertors import BUILTIN_CONVERTORS, CONVERTOR_TYPES, Convertor, builtin_convertor_name
from tachyon.datastructures import URL, Headers, URLPath
from tachyon.exceptions import HTTPException, TachyonDeprecationWarning
from tachyon.middleware import Middleware
from tachyon.middleware.body_limit import RequestBodyLimitMiddleware
from tachyon.requests import Request
from tachyon.responses import PlainTextResponse, RedirectResponse, Response
from tachyon.types import ASGIApp, Lifespan, Receive, Scope, Send
from tachyon.websockets import WebSocket, WebSocketClose

__all__ = [
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "Route",
    "RouteTemplateError",
    "Router",
    "WebSocketRoute",
    "compile_path",
    "get_name",
    "narrows_match",
    "request_response",
    "websocket_session",
]


class NoMatchFound(Exception):
    """Raised by `url_path_for` / `url_for` when no route has that name and those params."""

    def __init__(self, name: str, path_params: dict[str, Any]) -> None:
        params = ", ".join(list(path_params.keys()))
        super().__init__(f'No route exists for name "{name}" and params "{params}".')


class RouteTemplateError(ValueError, AssertionError):
    """A path or host template that cannot be compiled (raised when the route is built).

    It is a ValueError (as Starlette raises for duplicate parameters) and an AssertionError
    (as Starlette raises for an unknown convertor), so either `except` keeps working. The
    rule and the messages (Starlette's) are the native router's (`tachyon_router::PathPattern`).
    """


class Match(Enum):
    """How well a route matches a scope."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


set_match_members(Match.NONE, Match.PARTIAL, Match.FULL, HTTPException, RouteTemplateError)


def _route_matcher(route: Route | WebSocketRoute, kind: RouteKind) -> RouteMatcher | Literal[False]:
    """The route compiled alone for `matches`, or False if only Python can match it (a
    regex not compiled from its path, a convertor only Python can run)."""
    convertors = getattr(route, "param_convertors", None)
    regex = getattr(route, "path_regex", None)
    if convertors is None or regex is None or regex.pattern != _template_regex(route.path):
        return False
    custom: dict[str, str] = {}
    try:
        template = _native_template(route.path, convertors, custom)
        return RouteMatcher(kind, template, list(custom.items()), regex, convertors)
    except (ValueError, KeyError):
        return False


def request_response(func: Callable[[Request], Awaitable[Response] | Response]) -> ASGIApp:
    """Turn `func(request) -> response` (sync or async) into an ASGI app."""
    # A plain `async def` needs no further look (is_async_callable's checks cost as much
    # as the rest of building a Route).
    is_async = (type(func) is FunctionType and func.__code__.co_flags & CO_COROUTINE) or is_async_callable(func)
    call: Callable[[Request], Awaitable[Response]] = (
        func if is_async else functools.partial(run_in_threadpool, func)  # type: ignore[assignment]
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            response = await call(request)
            await response(scope, receive, send)

        await wrap_app_handling_exceptions(respond, request)(scope, receive, send)

    return app


def websocket_session(func: Callable[[Any], Awaitable[None]]) -> ASGIApp:
    """Turn `func(websocket)` into an ASGI app."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        session = WebSocket(scope, receive=receive, send=send)

        async def run(scope: Scope, receive: Receive, send: Send) -> None:
            await func(session)

        await wrap_app_handling_exceptions(run, session)(scope, receive, send)

    return app


def get_name(endpoint: Callable[..., Any]) -> str:
    """The default route name: the endpoint's `__name__`, or its class name."""
    return getattr(endpoint, "__name__", endpoint.__class__.__name__)


# `{name}` or `{name:convertor}` in a template; anything else in braces is literal text.
# Starlette's module attribute, kept for code that imports it: templates are read natively
# (tachyon_router), never with this.
PARAM_REGEX = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")
# `{name}` in a path format (what compile_path returns as its second item).
PARAM_FORMAT_REGEX = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)}")


def replace_params(
    path: str, param_convertors: dict[str, Convertor[Any]], path_params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Fill `{name}` slots of a path format; return it with the params left unused."""
    if not path_params:
        return path, path_params
    parts = PARAM_FORMAT_REGEX.split(path)
    for i in range(1, len(parts), 2):
        key = parts[i]
        if key in path_params:
            parts[i] = param_convertors[key].to_string(path_params.pop(key))
        else:
            parts[i] = "{" + key + "}"
    return "".join(parts), path_params


def compile_path(path: str) -> tuple[Pattern[str], str, dict[str, Convertor[Any]]]:
    """Compile a path template ("/users/{id:int}") or host template ("{sub}.example.org").

    Returns (regex, format, convertors): the anchored regex that matches it, the format
    with bare `{name}` slots, and the convertor of each parameter.
    Raises RouteTemplateError, with Starlette's message, for an unknown convertor, a
    duplicated parameter name, or a parameter whose closing brace is missing. The template
    is read natively (`tachyon_router::PathPattern`); only the regex is compiled here.
    """
    compiled = _native_compile_path(path, CONVERTOR_TYPES)
    return (
        re.compile(compiled.regex, re.IGNORECASE if compiled.ignore_case else 0),
        compiled.format,
        compiled.convertors,
    )


class _CompiledTemplate:
    """One of Starlette's compiled-template attributes (`path_regex`, `path_format`,
    `param_convertors`; a Host's `host_regex` and `host_format`), compiled from the route's
    template the first time something reads it.

    A route checks its template natively when it is built (a bad one still fails there)
    and matches with that; `compile_path` runs only for code that reads these attributes
    (FastAPI, Starlette's own tests). The values live in the instance dict under their own
    names, as Starlette's plain attributes do. Assigning or deleting one sets the route's
    native matcher aside (`_matcher = None`), so matching then follows the new value.
    """

    __slots__ = ("name", "names", "suffix")

    def __init__(self, names: tuple[str, str, str], suffix: str = "") -> None:
        self.names = names
        self.suffix = suffix
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, route: Any, owner: type | None = None) -> Any:
        if route is None:
            return self
        state = route.__dict__
        try:
            return state[self.name]
        except KeyError:
            pass
        matcher = state.get("_matcher")
        if type(matcher) is not RouteMatcher or not matcher.lazy:
            raise AttributeError(f"{type(route).__name__!r} object has no attribute {self.name!r}")
        # With the built-in convertors: the native check at construction found that each
        # name the template uses meant its built-in then (as compile_path would have bound).
        compiled = _native_compile_path(matcher.template + self.suffix, BUILTIN_CONVERTORS)
        if self.name == self.names[0]:
            # The regex alone is compiled by Python's `re`, and only when it is read.
            value: Any = re.compile(compiled.regex, re.IGNORECASE if compiled.ignore_case else 0)
        elif self.name == self.names[1]:
            value = compiled.format
        else:
            value = compiled.convertors
        state[self.name] = value
        return value

    def _drop_matcher(self, route: Any) -> None:
        # The other attributes are compiled first (the template lives in the matcher).
        state = route.__dict__
        matcher = state.get("_matcher")
        if matcher is None:
            return
        if type(matcher) is RouteMatcher and matcher.lazy:
            for name in self.names:
                if name not in state:
                    getattr(type(route), name).__get__(route)
        state["_matcher"] = None

    def __set__(self, route: Any, value: Any) -> None:
        self._drop_matcher(route)
        route.__dict__[self.name] = value

    def __delete__(self, route: Any) -> None:
        self._drop_matcher(route)
        try:
            del route.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None


_PATH_NAMES = ("path_regex", "path_format", "param_convertors")
_GET = ["GET"]
_HOST_NAMES = ("host_regex", "host_format", "param_convertors")


@functools.cache
def _compiles_lazily(cls: type, base: type) -> bool:
    """Whether `cls` reads its compiled-template attributes through `base`'s lazy
    descriptors (a subclass that defines any of them itself gets them compiled eagerly)."""
    names = _HOST_NAMES if base is Host else _PATH_NAMES
    return all(getattr(cls, name, None) is base.__dict__[name] for name in names)


def _lazy_matcher(route: BaseRoute) -> RouteMatcher | None:
    """The route's natively compiled template, while no compiled attribute was assigned
    (an assignment drops it, see _CompiledTemplate)."""
    matcher = getattr(route, "_matcher", None)
    if type(matcher) is RouteMatcher and matcher.lazy:
        return matcher
    return None


def _convert_params(convertors: dict[str, Convertor[Any]], matched: dict[str, str]) -> dict[str, Any]:
    try:
        return {key: convertors[key].convert(value) for key, value in matched.items()}
    except ValueError as exc:
        # e.g. an int with more digits than Python allows: the client's fault, not a 500.
        raise HTTPException(status_code=404) from exc


def _merged_params(scope: Scope, matched: dict[str, Any]) -> dict[str, Any]:
    """A child scope's path_params: the enclosing routers' params, then this route's."""
    path_params = dict(scope.get("path_params", {}))
    path_params.update(matched)
    return path_params


def _endpoint_url_path(route: Route | WebSocketRoute, name: str, path_params: dict[str, Any], protocol: str) -> URLPath:
    """url_path_for of an endpoint route: its name and exactly its parameters, or NoMatchFound."""
    if name != route.name or set(path_params) != set(route.param_convertors):
        raise NoMatchFound(name, path_params)
    path, remaining = replace_params(route.path_format, route.param_convertors, path_params)
    assert not remaining
    return URLPath(path=path, protocol=protocol)  # type: ignore[arg-type]


def _endpoint_is_function(endpoint: Any) -> bool:
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    return inspect.isfunction(endpoint) or inspect.ismethod(endpoint)


class BaseRoute:
    """Base of everything a Router holds: `matches`, `url_path_for`, `handle`."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """How this route matches `scope`, and the scope keys to set if it does."""
        raise NotImplementedError()  # pragma: no cover

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called `name` with these params, or NoMatchFound."""
        raise NotImplementedError()  # pragma: no cover

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request this route matched."""
        raise NotImplementedError()  # pragma: no cover

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Use the route alone as an ASGI app (404 / close when it does not match)."""
        match, child = self.matches(scope)
        if match is Match.NONE:
            if scope["type"] == "http":
                await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            elif scope["type"] == "websocket":
                await WebSocketClose()(scope, receive, send)
            return
        scope.update(child)
        await self.handle(scope, receive, send)


class Route(BaseRoute):
    """An HTTP endpoint at a path template.

    A function endpoint is called as `endpoint(request) -> response` (GET only unless
    `methods` says otherwise); a class endpoint is an ASGI app.
    """

    # Set by `__init__` for a plain function endpoint; a subclass that skips it gets None
    # (no direct call: the route is served through `handle`).
    _direct_app: ASGIApp | None = None
    # The native `matches`: built by `__init__` when the template is native (then the
    # attributes below compile lazily), else compiled on first use from them; False:
    # Python matches this route.
    _matcher: RouteMatcher | bool | None = None
    path_regex: Pattern[str] = _CompiledTemplate(_PATH_NAMES)  # type: ignore[assignment]
    path_format: str = _CompiledTemplate(_PATH_NAMES)  # type: ignore[assignment]
    param_convertors: dict[str, Convertor[Any]] = _CompiledTemplate(_PATH_NAMES)  # type: ignore[assignment]

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        assert path.startswith("/"), "Routed paths must start with '/'"
        self.path = path
        self.endpoint = endpoint
        if name is None:
            # get_name's answer for a plain function, without its frame.
            name = endpoint.__name__ if type(endpoint) is FunctionType else get_name(endpoint)
        self.name = name
        self.include_in_schema = include_in_schema

        # The app built for a plain function endpoint with no route middleware: while
        # `self.app` is still it, the app's exception layer may call the endpoint directly.
        self._direct_app: ASGIApp | None = None
        if type(endpoint) is FunctionType or _endpoint_is_function(endpoint):
            self.app = request_response(endpoint)
            if methods is None:
                methods = _GET
            if middleware is None:
                self._direct_app = self.app
        else:
            self.app = endpoint

        if middleware is not None:
            for cls, args, kwargs in reversed(middleware):
                self.app = cls(self.app, *args, **kwargs)
        if max_body_size is not None:
            self.app = RequestBodyLimitMiddleware(self.app, max_body_size=max_body_size)

        if methods is None:
            self.methods: set[str] | None = None
        elif methods == _GET:
            # What the general case builds for ["GET"], inserted in the same order (so the
            # set iterates, and `Allow` lists, the same), without a comprehension's frame.
            self.methods = {"GET", "HEAD"}
        else:
            self.methods = {method.upper() for method in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")

        # Written out in each route class (Route, WebSocketRoute, Mount, Host), deliberately:
        # a shared helper measured about 1,100 more instructions per route built (callgrind).
        cls = type(self)
        matcher = RouteMatcher.compile(RouteKind.HTTP, path) if cls is Route or _compiles_lazily(cls, Route) else None
        if matcher is None:
            self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        else:
            self._matcher = matcher

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # One native call (compiled on first use) while the route holds the regex and
        # convertors it was compiled from; Starlette's regex code otherwise.
        matcher = self._matcher
        if matcher is None:
            matcher = self._matcher = _route_matcher(self, RouteKind.HTTP)
        native = matcher.matches(self, scope) if matcher else None
        if native is not None:
            return native
        if scope["type"] == "http":
            found = self.path_regex.match(get_route_path(scope))
            if found:
                path_params = _merged_params(scope, _convert_params(self.param_convertors, found.groupdict()))
                child = child_scope(RouteKind.HTTP, self.endpoint, path_params)
                if self.methods and scope["method"] not in self.methods:
                    return Match.PARTIAL, child
                return Match.FULL, child
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return _endpoint_url_path(self, name, path_params, "http")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            headers = {"Allow": ", ".join(self.methods)}
            if "app" in scope:
                raise HTTPException(status_code=405, headers=headers)
            await PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, Route)
            and self.path == other.path
            and self.endpoint == other.endpoint
            and self.methods == other.methods
        )

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        methods = sorted(self.methods or [])
        return f"{self.__class__.__name__}(path={self.path!r}, name={self.name!r}, methods={methods!r})"


class WebSocketRoute(BaseRoute):
    """A WebSocket endpoint at a path template: `endpoint(websocket)` or an ASGI class."""

    # As in Route (declared in each class rather than in a shared base, which would add a
    # class to the MRO that Starlette's WebSocketRoute does not have).
    _matcher: RouteMatcher | bool | None = None
    path_regex: Pattern[str] = _CompiledTemplate(_PATH_NAMES)  # type: ignore[assignment]
    path_format: str = _CompiledTemplate(_PATH_NAMES)  # type: ignore[assignment]
    param_convertors: dict[str, Convertor[Any]] = _CompiledTemplate(_PATH_NAMES)  # type: ignore[assignment]

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        assert path.startswith("/"), "Routed paths must start with '/'"
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.app = websocket_session(endpoint) if _endpoint_is_function(endpoint) else endpoint
        if middleware is not None:
            for cls, args, kwargs in reversed(middleware):
                self.app = cls(self.app, *args, **kwargs)
        # As in Route.__init__ (written out there and here, see there).
        route_cls = type(self)
        lazy = route_cls is WebSocketRoute or _compiles_lazily(route_cls, WebSocketRoute)
        matcher = RouteMatcher.compile(RouteKind.WEBSOCKET, path) if lazy else None
        if matcher is None:
            self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        else:
            self._matcher = matcher

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # As in Route.matches; kept inline there and here, as a shared helper would add a
        # call frame to every route tried on every request.
        matcher = self._matcher
        if matcher is None:
            matcher = self._matcher = _route_matcher(self, RouteKind.WEBSOCKET)
        native = matcher.matches(self, scope) if matcher else None
        if native is not None:
            return native
        if scope["type"] == "websocket":
            found = self.path_regex.match(get_route_path(scope))
            if found:
                path_params = _merged_params(scope, _convert_params(self.param_convertors, found.groupdict()))
                return Match.FULL, child_scope(RouteKind.WEBSOCKET, self.endpoint, path_params)
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return _endpoint_url_path(self, name, path_params, "websocket")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, WebSocketRoute) and self.path == other.path and self.endpoint == other.endpoint

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(path={self.path!r}, name={self.name!r})"


class Mount(BaseRoute):
    """An app (or a list of routes) served below a path prefix, with root_path set for it."""

    # The native `matches`, built by `__init__` when the template is native (then the
    # attributes below compile lazily); None: Python matches this mount.
    _matcher: RouteMatcher | None = None
    path_regex: Pattern[str] = _CompiledTemplate(_PATH_NAMES, "/{path:path}")  # type: ignore[assignment]
    path_format: str = _CompiledTemplate(_PATH_NAMES, "/{path:path}")  # type: ignore[assignment]
    param_convertors: dict[str, Convertor[Any]] = _CompiledTemplate(_PATH_NAMES, "/{path:path}")  # type: ignore[assignment]

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        assert path == "" or path.startswith("/"), "Routed paths must start with '/'"
        assert app is not None or routes is not None, "Either 'app=...', or 'routes=' must be specified"
        self.path = path.rstrip("/")
        self._base_app: ASGIApp = app if app is not None else Router(routes=routes)
        self.app = self._base_app
        if middleware is not None:
            for cls, args, kwargs in reversed(middleware):
                self.app = cls(self.app, *args, **kwargs)
        if max_body_size is not None:
            self.app = RequestBodyLimitMiddleware(self.app, max_body_size=max_body_size)
        self.name = name
        # As in Route.__init__ (written out there and here, see there).
        cls = type(self)
        matcher = (
            RouteMatcher.compile(RouteKind.MOUNT, self.path) if cls is Mount or _compiles_lazily(cls, Mount) else None
        )
        if matcher is None:
            self.path_regex, self.path_format, self.param_convertors = compile_path(self.path + "/{path:path}")
        else:
            self._matcher = matcher

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the mounted app, if it has any."""
        return getattr(self._base_app, "routes", [])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # The native call first, as in Route.matches (written out in each class: a shared
        # helper would add a call frame to every route tried).
        matcher = self._matcher
        native = matcher.matches(self, scope) if matcher else None
        if native is not None:
            return native
        if scope["type"] in ("http", "websocket"):
            root_path = scope.get("root_path", "")
            route_path = get_route_path(scope)
            found = self.path_regex.match(route_path)
            if found:
                matched = _convert_params(self.param_convertors, found.groupdict())
                remaining_path = "/" + matched.pop("path")
                matched_path = route_path[: -len(remaining_path)]
                # app_root_path is set once, at the top, so url_for inside mounts can still
                # build URLs from the application's root.
                return Match.FULL, child_scope(
                    RouteKind.MOUNT,
                    self.app,
                    _merged_params(scope, matched),
                    root_path=root_path + matched_path,
                    app_root_path=scope.get("app_root_path", root_path),
                )
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            # The mount itself, with the rest of the path given as `path`.
            path_params["path"] = path_params["path"].lstrip("/")
            path, remaining = replace_params(self.path_format, self.param_convertors, path_params)
            if not remaining:
                return URLPath(path=path)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            path_kwarg = path_params.get("path")
            path_params["path"] = ""
            prefix, remaining = replace_params(self.path_format, self.param_convertors, path_params)
            if path_kwarg is not None:
                remaining["path"] = path_kwarg
            for route in self.routes or []:
                try:
                    url = route.url_path_for(child_name, **remaining)
                except NoMatchFound:
                    continue
                return URLPath(path=prefix.rstrip("/") + str(url), protocol=url.protocol)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Mount) and self.path == other.path and self.app == other.app

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(path={self.path!r}, name={self.name or ''!r}, app={self.app!r})"


class Host(BaseRoute):
    """An app served for requests whose Host header matches a host template."""

    # As in Mount.
    _matcher: RouteMatcher | None = None
    host_regex: Pattern[str] = _CompiledTemplate(_HOST_NAMES)  # type: ignore[assignment]
    host_format: str = _CompiledTemplate(_HOST_NAMES)  # type: ignore[assignment]
    param_convertors: dict[str, Convertor[Any]] = _CompiledTemplate(_HOST_NAMES)  # type: ignore[assignment]

    def __init__(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        assert not host.startswith("/"), "Host must not start with '/'"
        self.host = host
        self.app = app
        self.name = name
        # As in Route.__init__ (written out there and here, see there).
        cls = type(self)
        matcher = RouteMatcher.compile(RouteKind.HOST, host) if cls is Host or _compiles_lazily(cls, Host) else None
        if matcher is None:
            self.host_regex, self.host_format, self.param_convertors = compile_path(host)
        else:
            self._matcher = matcher

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the app, if it has any."""
        return getattr(self.app, "routes", [])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # The native call first, as in Route.matches (written out in each class: a shared
        # helper would add a call frame to every route tried).
        matcher = self._matcher
        native = matcher.matches(self, scope) if matcher else None
        if native is not None:
            return native
        if scope["type"] in ("http", "websocket"):
            parsed = parse_host_header(Headers(scope=scope).get("host"))
            if parsed is None:
                return Match.NONE, {}
            found = self.host_regex.match(parsed.host.lower())
            if found:
                path_params = _merged_params(scope, _convert_params(self.param_convertors, found.groupdict()))
                return Match.FULL, child_scope(RouteKind.HOST, self.app, path_params)
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            path = path_params.pop("path")
            host, remaining = replace_params(self.host_format, self.param_convertors, path_params)
            if not remaining:
                return URLPath(path=path, host=host)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            host, remaining = replace_params(self.host_format, self.param_convertors, path_params)
            for route in self.routes or []:
                try:
                    url = route.url_path_for(child_name, **remaining)
                except NoMatchFound:
                    continue
                return URLPath(path=str(url), protocol=url.protocol, host=host)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Host) and self.host == other.host and self.app == other.app

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(host={self.host!r}, name={self.name or ''!r}, app={self.app!r})"


# Each route class's `matches` as a native method descriptor: `route.matches(scope)` then
# runs no Python frame while the route's native matcher answers (the request path of
# FastAPI-style routers calls it for every route tried). Every other call (no standing
# matcher, a scope that is not a dict, keyword arguments) runs the Python method above,
# which the descriptor keeps and calls.
Route.matches = native_matches(Route, RouteKind.HTTP, Route.matches)  # type: ignore[method-assign]
WebSocketRoute.matches = native_matches(  # type: ignore[method-assign]
    WebSocketRoute, RouteKind.WEBSOCKET, WebSocketRoute.matches
)
Mount.matches = native_matches(Mount, RouteKind.MOUNT, Mount.matches)  # type: ignore[method-assign]
Host.matches = native_matches(Host, RouteKind.HOST, Host.matches)  # type: ignore[method-assign]


_T = TypeVar("_T")


class _AsyncLiftContextManager(AbstractAsyncContextManager[_T]):
    def __init__(self, cm: AbstractContextManager[_T]) -> None:
        self._cm = cm

    async def __aenter__(self) -> _T:
        return self._cm.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> bool | None:
        return self._cm.__exit__(exc_type, exc_value, tb)


def _wrap_gen_lifespan_context(
    lifespan_context: Callable[[Any], Generator[Any, Any, Any]],
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    cmgr = contextlib.contextmanager(lifespan_context)

    @functools.wraps(cmgr)
    def wrapper(app: Any) -> _AsyncLiftContextManager[Any]:
        return _AsyncLiftContextManager(cmgr(app))

    return wrapper


class _DefaultLifespan:
    async def __aenter__(self) -> None:
        pass

    async def __aexit__(self, *exc_info: object) -> None:
        pass

    def __call__(self, app: object) -> _DefaultLifespan:
        return self


_DEFAULT_LIFESPAN = _DefaultLifespan()


class RouteList(list):  # type: ignore[type-arg]
    """A list of routes that counts its changes, so the router knows when to recompile.

    The native tables that answer requests for this list alone (`RouteTable.route`) are
    told of a change directly (`RouteTable.invalidate`), so a request reads no `version`.
    """

    version = 0
    # The tables compiled from this list that answer for it alone (see Router.native_table).
    _tables: list[RouteTable] | None = None

    def _changed(self) -> None:
        self.version += 1
        tables = self._tables
        if tables is not None:
            self._tables = None
            for table in tables:
                table.invalidate()

    def _watch(self, table: RouteTable) -> None:
        """Invalidate `table` at this list's next change."""
        if self._tables is None:
            self._tables = []
        self._tables.append(table)

    def __getstate__(self) -> dict[str, Any]:
        # A copy (or pickle) has no tables watching it: it starts from no compiled table.
        state = dict(self.__dict__)
        state.pop("_tables", None)
        return state

    def append(self, item: Any) -> None:
        # Inline (no super()): routes are appended one by one at startup.
        if self._tables is None:
            self.version += 1
        else:
            self._changed()
        list.append(self, item)

    def extend(self, items: Any) -> None:
        self._changed()
        super().extend(items)

    def insert(self, index: Any, item: Any) -> None:
        self._changed()
        super().insert(index, item)

    def remove(self, item: Any) -> None:
        self._changed()
        super().remove(item)

    def pop(self, index: Any = -1) -> Any:
        self._changed()
        return super().pop(index)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().sort(*args, **kwargs)

    def reverse(self) -> None:
        self._changed()
        super().reverse()

    def __setitem__(self, index: Any, item: Any) -> None:
        self._changed()
        super().__setitem__(index, item)

    def __delitem__(self, index: Any) -> None:
        self._changed()
        super().__delitem__(index)

    def __iadd__(self, items: Any) -> RouteList:
        self._changed()
        return super().__iadd__(items)  # type: ignore[return-value]

    def __imul__(self, count: Any) -> RouteList:
        self._changed()
        return super().__imul__(count)  # type: ignore[return-value]


def _native_template(template: str, convertors: dict[str, Convertor[Any]], custom: dict[str, str]) -> str:
    """The template as the native router reads it: user convertors renamed to unique names.

    A route keeps the convertor objects it was built with; giving each non-built-in one
    its own name (registered in `custom` with its regex) keeps that binding exact. The
    template is read natively (`tachyon_router::rename_convertors`); a parameter missing
    from `convertors` raises KeyError.
    """
    if all(builtin_convertor_name(c) is not None for c in convertors.values()):
        return template

    def rename(name: str) -> str | None:
        convertor = convertors[name]
        if builtin_convertor_name(convertor) is not None:
            return None
        key = f"_user{id(convertor)}"
        custom[key] = convertor.regex
        return key

    return _rename_convertors(template, rename)


_MatchesT = TypeVar("_MatchesT", bound=Callable[..., Any])


def narrows_match(matches: _MatchesT) -> _MatchesT:
    """Declare that a `matches()` override only narrows or decorates its base class's match.

    The override must call `super().matches(scope)` and return either that result with
    extra keys in the child scope, or a weaker match (PARTIAL for FULL, NONE for either):
    never a match where the base class has none. Routes so declared stay in the native
    route table, which then runs the override only for the route that wins (and falls
    back to Starlette's ordered scan if the override turns the winner down). Undeclared
    overrides are never assumed to narrow: those routes are matched in Python, in order.
    """
    matches.__tachyon_narrows_match__ = True  # type: ignore[attr-defined]
    return matches


def _matches_kind(cls: type, base: type) -> str | None:
    """ "native" if `cls` matches as `base` does, "narrowed" if every override of `matches`
    between them is declared with `narrows_match`, else None (Python must match it)."""
    narrowed = False
    for klass in cls.__mro__:
        if klass is base:
            return "narrowed" if narrowed else "native"
        own = klass.__dict__.get("matches")
        if own is None:
            continue
        if not getattr(own, "__tachyon_narrows_match__", False):
            return None
        narrowed = True
    return None


# The route classes the native table matches, each with its kind, in the order they are tried.
_NATIVE_KINDS = (
    (Route, RouteKind.HTTP),
    (WebSocketRoute, RouteKind.WEBSOCKET),
    (Mount, RouteKind.MOUNT),
    (Host, RouteKind.HOST),
)


def _native_spec(route: BaseRoute, custom: dict[str, str]) -> tuple[RouteKind, str | None, list[str] | None, bool]:
    """How the native table sees `route`: (kind, template, methods, narrowed); OPAQUE = Python
    matches it. `narrowed`: its class narrows the base match (the override runs on a win)."""
    cls = type(route)
    lazy = _lazy_matcher(route)
    for base, kind in _NATIVE_KINDS:
        if not isinstance(route, base) or not (how := _matches_kind(cls, base)):
            continue
        methods = None
        if kind is RouteKind.HTTP and route.methods is not None:  # type: ignore[attr-defined]
            methods = sorted(route.methods)  # type: ignore[attr-defined]
        template = lazy.template if lazy is not None else _python_template(route, kind, custom)
        if template is not None:
            return kind, template, methods, how == "narrowed"
    return RouteKind.OPAQUE, None, None, False


def _python_template(route: Any, kind: RouteKind, custom: dict[str, str]) -> str | None:
    """The native template of a route whose attributes were compiled in Python, or None when
    Python must match it (its regex is not the one its template compiles to; a mount with
    a user convertor)."""
    if kind is RouteKind.HOST:
        return _native_template(route.host, route.param_convertors, custom)
    if kind is RouteKind.MOUNT:
        if all(builtin_convertor_name(c) is not None for c in route.param_convertors.values()):
            return route.path
        return None
    if _has_route_state(route):
        return _native_template(route.path, route.param_convertors, custom)
    return None


def _template_regex(path: str) -> str:
    """The source of the regex `compile_path(path)` compiles (nothing compiled by `re`)."""
    return _native_compile_path(path, CONVERTOR_TYPES).regex


def _has_route_state(route: Route | WebSocketRoute) -> bool:
    """Whether the route's regex is the one its `path` compiles to: a subclass that set
    `path_regex` some other way is matched in Python, by that regex."""
    regex = getattr(route, "path_regex", None)
    if regex is None:
        return False
    # Built by our own __init__: compiled from `path` (checking costs a compile per route).
    return type(route) in (Route, WebSocketRoute) or regex.pattern == _template_regex(route.path)


def _native_entry(route: BaseRoute) -> tuple[Any, Any, Any, Any]:
    """A route's Python objects for the native table: (route, endpoint, convertors, direct),
    where convertors is its `param_convertors`, or its lazy matcher while those are uncompiled."""
    if isinstance(route, (Mount, Host)):
        endpoint = route.app
    else:
        endpoint = getattr(route, "endpoint", None)
    direct = None
    if isinstance(route, Route) and type(route).handle is Route.handle and route._direct_app is not None:
        fn = route.endpoint
        direct = fn if is_async_callable(fn) else functools.partial(run_in_threadpool, fn)
    convertors = _lazy_matcher(route) or getattr(route, "param_convertors", None) or {}
    return route, endpoint, convertors, direct


@functools.cache
def _standard_dispatch(cls: type) -> bool:
    """Whether a Router class dispatches as Router does (no override an outer layer would skip)."""
    return (
        cls.__call__ is Router.__call__  # type: ignore[attr-defined]
        and cls.app is Router.app  # type: ignore[attr-defined]
        and cls.resolve is Router.resolve  # type: ignore[attr-defined]
        and cls.handle_routes is Router.handle_routes  # type: ignore[attr-defined]
        and cls.not_found is Router.not_found  # type: ignore[attr-defined]
    )


def _request_host(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"host":
            parsed = parse_host_header(value.decode("latin-1"))
            return None if parsed is None else parsed.host.lower()
    return None


class Router:
    """Dispatches a request to the first route that matches it.

    Matching runs in Rust: the routes are compiled once into a native table (and again
    whenever `routes` changes), and one call per request finds Starlette's winner. Routes
    whose class overrides `matches()` are asked in Python, in declaration order, wherever
    they could come first.
    """

    # Class-level defaults for the native table's cache, so a subclass that builds itself
    # without calling `__init__` still routes (it compiles the table on first use).
    _table: RouteTable | None = None
    _table_routes: list[BaseRoute] | None = None
    _table_version = -1
    _has_opaque = False
    _has_hosts = False
    _narrowed: frozenset[int] = frozenset()
    _plain_stack: ASGIApp | None = None

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        lifespan: Lifespan[Any] | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        # The native table's cache starts from the class-level defaults.
        klass = type(self)
        if klass is Router:
            self._routes = RouteList() if routes is None else RouteList(routes)
        else:  # a subclass may define its own `routes` setter
            self.routes = [] if routes is None else list(routes)
        self.redirect_slashes = redirect_slashes
        # `default` and `middleware_stack` are Starlette's bound methods `self.not_found` and
        # `self.app`. Stored on the instance they would make each router a reference cycle,
        # which only the cycle collector frees (with every route the router holds): while
        # they are the class's own methods, the class attributes below bind them on read.
        if default is not None or (klass is not Router and klass.default is not klass.not_found):
            self.default = self.not_found if default is None else default

        if lifespan is None:
            # Stateless: one shared instance (building one per router showed in app creation).
            self.lifespan_context: Lifespan[Any] = _DEFAULT_LIFESPAN
        elif inspect.isasyncgenfunction(lifespan):
            # Attributed to this module, as Starlette's is to starlette.routing.
            warn_here(
                "async generator function lifespans are deprecated, "
                "use an @contextlib.asynccontextmanager function instead",
                TachyonDeprecationWarning,
            )
            self.lifespan_context = asynccontextmanager(lifespan)
        elif inspect.isgeneratorfunction(lifespan):
            warn_here(
                "generator function lifespans are deprecated, use an @contextlib.asynccontextmanager function instead",
                TachyonDeprecationWarning,
            )
            self.lifespan_context = _wrap_gen_lifespan_context(lifespan)
        else:
            self.lifespan_context = lifespan

        if klass is not Router and klass.middleware_stack is not klass.app:
            self.middleware_stack = self.app
            if not middleware and max_body_size is None:
                self._plain_stack = self.middleware_stack
        if not middleware and max_body_size is None:
            return
        if middleware:
            for cls, args, kwargs in reversed(middleware):
                self.middleware_stack = cls(self.middleware_stack, *args, **kwargs)
        if max_body_size is not None:
            self.middleware_stack = RequestBodyLimitMiddleware(self.middleware_stack, max_body_size=max_body_size)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The default app for a request no route matched."""
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        # Inside an application, raise so the app's exception handlers decide the response.
        if "app" in scope:
            raise HTTPException(status_code=404)
        await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called `name` with these params."""
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the lifespan context between the server's startup and shutdown messages."""
        started = False
        app: Any = scope.get("app")
        await receive()
        try:
            async with self.lifespan_context(app) as maybe_state:
                if maybe_state is not None:
                    if "state" not in scope:
                        raise RuntimeError('The server does not support "state" in the lifespan scope.')
                    scope["state"].update(maybe_state)
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()
        except BaseException:
            exc_text = traceback.format_exc()
            if started:
                await send({"type": "lifespan.shutdown.failed", "message": exc_text})
            else:
                await send({"type": "lifespan.startup.failed", "message": exc_text})
            raise
        else:
            await send({"type": "lifespan.shutdown.complete"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.middleware_stack(scope, receive, send)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one connection (http, websocket or lifespan)."""
        assert scope["type"] in ("http", "websocket", "lifespan")
        if "router" not in scope:
            scope["router"] = self
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return

        await self.handle_routes(scope, receive, send)

    # What `__init__` would otherwise store per instance (`self.middleware_stack = self.app`,
    # `self.default = self.not_found`): read through the instance, each is that bound method.
    # A router given middleware, a default, or a subclass overriding either method, stores
    # its own (see __init__).
    middleware_stack: ASGIApp = app  # type: ignore[assignment]
    default: ASGIApp = not_found  # type: ignore[assignment]

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes, in the order they are tried. Changing the list is allowed."""
        return self._routes

    @routes.setter
    def routes(self, routes: list[BaseRoute]) -> None:
        self._routes = routes if type(routes) is RouteList else RouteList(routes)
        self._table = None

    def native_table(self) -> RouteTable:
        """The compiled route table, rebuilt if the route list changed since."""
        routes = self._routes
        table = self._table
        if table is None or routes is not self._table_routes or routes.version != self._table_version:
            custom: dict[str, str] = {}
            specs = [_native_spec(route, custom) for route in routes]
            entries = [_native_entry(route) for route in routes]
            narrowed = frozenset(index for index, spec in enumerate(specs) if spec[3])
            # The table may answer the request path alone (`RouteTable.route`) until this list
            # changes (it then invalidates the table), unless narrowed routes need their
            # override run.
            standalone = not narrowed and isinstance(routes, RouteList)
            table = self._table = RouteTable([spec[:3] for spec in specs], list(custom.items()), entries, standalone)
            if standalone and table.standalone:
                routes._watch(table)
            self._table_routes = routes
            self._table_version = routes.version
            self._narrowed = narrowed
            self._has_opaque = bool(table.opaque) or bool(self._narrowed)
            self._has_hosts = table.has_hosts
        return table

    def resolve(self, scope: Scope) -> tuple[BaseRoute, bool, Any] | None:
        """Match `scope` and write the child scope keys, as Starlette's Router does.

        Returns None when nothing matched, else (route, full, direct): `full` is False for
        a path that matched with the wrong method (the route then answers 405), and
        `direct` is the endpoint to call directly for a FULL match, if there is one.
        """
        routes = self._routes
        table = self._table
        if table is None or routes is not self._table_routes or routes.version != self._table_version:
            table = self.native_table()
        if self._has_opaque:
            route, child, full = self.match_route(scope)
            if route is None:
                return None
            scope["route"] = route
            scope.update(child)
            direct = _native_entry(route)[3] if full else None
            return route, full, direct
        try:
            found = table.resolve(scope, _request_host(scope) if self._has_hosts else None)
        except ValueError as exc:
            # A value its convertor refuses (say, an int past Python's digit limit) is
            # not a page that exists: 404 rather than the 500 Starlette gives.
            raise HTTPException(status_code=404) from exc
        return found

    def _child_scope(self, route: BaseRoute, scope: Scope) -> Scope:
        """The child scope of a native FULL match: what the route's base class `matches`
        gives (the native table matched it the base class's way)."""
        if isinstance(route, Route):
            return Route.matches(route, scope)[1]
        if isinstance(route, WebSocketRoute):
            return WebSocketRoute.matches(route, scope)[1]
        if isinstance(route, Mount):
            return Mount.matches(route, scope)[1]
        return Host.matches(route, scope)[1]  # type: ignore[arg-type]

    def match_route(self, scope: Scope) -> tuple[BaseRoute | None, Scope, bool]:
        """Find the route for an http or websocket scope: (route, child scope, full match).

        The first FULL match in declaration order wins; failing that, the first PARTIAL
        one (path matched, method did not); failing that, (None, {}, False).
        """
        index, route, child_scope, full = self._match_route(scope)
        if route is not None and index in self._narrowed:
            # The native table matched the base class's way; the override has the last
            # word. If it turns the winner down, routes after it may win: scan in order.
            match, child_scope = route.matches(scope)
            if match is not (Match.FULL if full else Match.PARTIAL):
                return self._scan(scope)
        return route, child_scope, full

    def _scan(self, scope: Scope) -> tuple[BaseRoute | None, Scope, bool]:
        """Starlette's own loop: every route's `matches`, in declaration order."""
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self._routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope, True
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            return partial[0], partial[1], False
        return None, {}, False

    def _match_route(self, scope: Scope) -> tuple[int, BaseRoute | None, Scope, bool]:
        """`match_route` with the winner's index, narrowed routes taken as the base class
        matches them (see `narrows_match`)."""
        table = self.native_table()
        found = table.lookup(scope, _request_host(scope) if table.has_hosts else None)
        if found is None:
            return -1, None, {}, False
        # The native rule (`tachyon_router::Router::resolve_with`) chose the winner, asking
        # the routes only Python can match (their own `matches`) where they could come first.
        index = found.index
        route = self._routes[index]
        child = found.child
        if child is None:
            # A native route: its class's own `matches` gives the child scope.
            child = self._child_scope(route, scope) if found.full else route.matches(scope)[1]
        return index, route, child, found.full

    def redirect_for(self, scope: Scope) -> RedirectResponse | None:
        """The redirect to the other-slash form of the path, if that form would match."""
        route_path = get_route_path(scope)
        if scope["type"] != "http" or not self.redirect_slashes or route_path == "/":
            return None
        table = self.native_table()
        native = table.redirect_matches(scope, _request_host(scope) if self._has_hosts else None)
        if not native and not self._has_opaque:
            return None  # the common miss: no scope copy
        redirect_scope = dict(scope)
        if route_path.endswith("/"):
            redirect_scope["path"] = redirect_scope["path"].rstrip("/")
        else:
            redirect_scope["path"] = redirect_scope["path"] + "/"
        if native and self._narrowed:
            # A narrowed route may turn the other-slash path down: ask every route, in order.
            native = False
            candidates: Collection[int] = range(len(self._routes))
        else:
            candidates = table.opaque
        if native or any(self._routes[index].matches(redirect_scope)[0] is not Match.NONE for index in candidates):
            return RedirectResponse(url=str(URL(scope=redirect_scope)))
        return None

    async def handle_routes(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Match an http or websocket scope against the routes and serve it."""
        found = self.resolve(scope)
        if found is not None:
            await found[0].handle(scope, receive, send)
            return
        redirect = self.redirect_for(scope)
        if redirect is not None:
            await redirect(scope, receive, send)
            return
        await self.default(scope, receive, send)

    def can_serve_directly(self) -> bool:
        """Whether an outer layer may route through `match_route` instead of calling us.

        True while nothing sits between `__call__` and `app` (no router middleware) and
        no subclass changed how dispatching works.
        """
        stack = self.__dict__.get("middleware_stack")
        if stack is None:
            # Not stored: the class's attribute, Router.app bound to us unless a subclass
            # replaced it.
            plain = type(self).middleware_stack is Router.app
        else:
            plain = stack is self._plain_stack
        return plain and _standard_dispatch(type(self))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Router) and self.routes == other.routes

    __hash__ = object.__hash__

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Append a Mount."""
        self.routes.append(Mount(path, app=app, name=name))

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Append a Host route."""
        self.routes.append(Host(host, app=app, name=name))

    def add_route(
        self,
        path: str | BaseRoute,
        endpoint: Callable[[Request], Awaitable[Response] | Response] | None = None,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Append a route: `add_route(path, endpoint, ...)` or `add_route(Route(...))`."""
        if isinstance(path, BaseRoute):
            assert endpoint is None and methods is None and name is None, (
                "add_route(route) takes a route object alone; pass endpoint, methods and name to Route()"
            )
            self.routes.append(path)
            return
        assert endpoint is not None, "add_route(path, endpoint) needs an endpoint"
        route = Route(path, endpoint=endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        # The list itself for Router (no property frame); a subclass's `routes` as it defines it.
        (self._routes if type(self) is Router else self.routes).append(route)

    def add_websocket_route(
        self, path: str, endpoint: Callable[[Any], Awaitable[None]], name: str | None = None
    ) -> None:
        """Append a WebSocketRoute."""
        self.routes.append(WebSocketRoute(path, endpoint=endpoint, name=name))
