"""Subclasses written the way Starlette extensions write them, on Starlette and on Tachyon.

Fast paths must not assume their own `__init__` ran or their own methods were not
overridden: each app below is built on both frameworks and answers byte for byte alike.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest


def build_skipping_init(fw: SimpleNamespace) -> Any:
    """An app class that sets what Starlette's `__call__` reads and never calls
    `Starlette.__init__`, with its own middleware stack (as FastAPI does)."""
    Starlette = fw.applications.Starlette
    Middleware = fw.middleware.Middleware
    ServerErrorMiddleware = fw.middleware.errors.ServerErrorMiddleware
    ExceptionMiddleware = fw.middleware.exceptions.ExceptionMiddleware

    class Extension(Starlette):
        def __init__(self, routes: list[Any]) -> None:
            self.debug = False
            self.state = fw.datastructures.State()
            self.router = fw.routing.Router(routes)
            self.exception_handlers = {}
            self.user_middleware = []
            self.middleware_stack = None

        def build_middleware_stack(self) -> Any:
            middleware = [
                Middleware(ServerErrorMiddleware, debug=False),
                Middleware(ExceptionMiddleware, handlers={}),
            ]
            app = self.router
            for cls, args, kwargs in reversed(middleware):
                app = cls(app, *args, **kwargs)
            return app

    return Extension(routes=_routes(fw))


def build_wrapping_stack(fw: SimpleNamespace) -> Any:
    """`build_middleware_stack` overridden to wrap what the base class builds."""
    Starlette = fw.applications.Starlette

    class Tagged(Starlette):
        def build_middleware_stack(self) -> Any:
            inner = super().build_middleware_stack()

            async def app(scope: Any, receive: Any, send: Any) -> None:
                async def tagged(message: Any) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message["headers"], (b"x-tagged", b"1")]
                    await send(message)

                await inner(scope, receive, tagged)

            return app

    return Tagged(routes=_routes(fw))


def build_bare_router(fw: SimpleNamespace) -> Any:
    """A Router subclass that skips `Router.__init__` and sets the documented attributes."""
    Router = fw.routing.Router

    class BareRouter(Router):
        def __init__(self, routes: list[Any]) -> None:
            self.routes = list(routes)
            self.redirect_slashes = True
            self.default = self.not_found
            self.lifespan_context = None
            self.middleware_stack = self.app

    return fw.applications.Starlette(routes=[fw.routing.Mount("/r", app=BareRouter(_routes(fw)))] + _routes(fw))


def _routes(fw: SimpleNamespace) -> list[Any]:
    Route = fw.routing.Route
    JSONResponse = fw.responses.JSONResponse
    Response = fw.responses.Response

    class OnlyWithHeader(Route):
        """Narrows the base match: only requests carrying X-Beta."""

        def matches(self, scope: Any) -> Any:
            match, child = super().matches(scope)
            if match is not fw.routing.Match.NONE and (b"x-beta", b"1") not in scope["headers"]:
                return fw.routing.Match.NONE, {}
            child["beta"] = True
            return match, child

    class LoggedRoute(Route):
        """Overrides `handle` (what a fast path would skip)."""

        async def handle(self, scope: Any, receive: Any, send: Any) -> None:
            async def marked(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (b"x-logged", b"yes")]
                await send(message)

            await super().handle(scope, receive, marked)

    class NoInitRoute(Route):
        """Never runs `Route.__init__`; sets what Starlette's Route reads instead."""

        def __init__(self, path: str, endpoint: Any) -> None:
            self.path = path
            self.endpoint = endpoint
            self.name = endpoint.__name__
            self.include_in_schema = True
            self.methods = {"GET", "HEAD"}
            self.app = fw.routing.request_response(endpoint)
            self.path_regex, self.path_format, self.param_convertors = fw.routing.compile_path(path)

    class Upper(Response):
        media_type = "text/plain"

        def render(self, content: Any) -> bytes:
            return str(content).upper().encode()

    class CustomCall(Response):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 299, "headers": [(b"x-own", b"call")]})
            await send({"type": "http.response.body", "body": b"own call"})

    class SortedJSON(JSONResponse):
        def render(self, content: Any) -> bytes:
            return json.dumps(content, sort_keys=True).encode()

    async def hello(request: Any) -> Any:
        return JSONResponse({"hello": request.path_params.get("name", "world"), "beta": request.scope.get("beta")})

    async def upper(request: Any) -> Any:
        return Upper("shout")

    async def own_call(request: Any) -> Any:
        return CustomCall()

    async def sorted_json(request: Any) -> Any:
        return SortedJSON({"b": 1, "a": 2})

    return [
        OnlyWithHeader("/beta/{name}", hello),
        Route("/beta/{name}", hello, name="fallback"),
        LoggedRoute("/logged", hello),
        NoInitRoute("/noinit/{name}", hello),
        Route("/upper", upper),
        Route("/own-call", own_call),
        Route("/sorted", sorted_json),
        Route("/", hello),
    ]


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/", {}),
    ("GET", "/beta/ann", {}),
    ("GET", "/beta/ann", {"headers": {"X-Beta": "1"}}),
    ("POST", "/beta/ann", {"headers": {"X-Beta": "1"}}),
    ("GET", "/logged", {}),
    ("POST", "/logged", {}),
    ("GET", "/noinit/zed", {}),
    ("HEAD", "/noinit/zed", {}),
    ("GET", "/upper", {}),
    ("GET", "/own-call", {}),
    ("GET", "/sorted", {}),
    ("GET", "/missing", {}),
    ("GET", "/logged/", {"follow_redirects": False}),
    ("GET", "/r/noinit/x", {}),
    ("GET", "/r/beta/y", {"headers": {"X-Beta": "1"}}),
    ("GET", "/r/missing", {}),
]


@pytest.mark.parametrize("build", [build_skipping_init, build_wrapping_stack, build_bare_router])
@pytest.mark.parametrize(("method", "url", "kwargs"), REQUESTS)
def test_subclass_apps_answer_as_on_starlette(
    both: Any, build: Any, method: str, url: str, kwargs: dict[str, Any]
) -> None:
    both(build)(method, url, **kwargs)


def test_json_dumps_replaced_is_called_as_starlette_calls_it(both: Any) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.JSONResponse({"é": [1.5, None]})

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])

    request = both(build)
    with mock.patch("json.dumps", wraps=json.dumps) as dumps:
        response = request("GET", "/")
    # Once per framework, with Starlette's arguments.
    assert dumps.call_count == 2
    expected = {"ensure_ascii": False, "allow_nan": False, "indent": None, "separators": (",", ":")}
    assert dumps.call_args.kwargs == expected
    assert response.content == '{"é":[1.5,null]}'.encode()


def test_json_dumps_replaced_decides_the_body_until_restored() -> None:
    from tachyon.responses import JSONResponse

    with mock.patch("json.dumps", return_value="[42]"):
        assert JSONResponse({"a": 1}).body == b"[42]"
    assert JSONResponse({"a": 1}).body == b'{"a":1}'


def test_render_replaced_on_the_class_is_used() -> None:
    from tachyon.responses import JSONResponse

    with mock.patch.object(JSONResponse, "render", lambda self, content: b"patched"):
        response = JSONResponse({"a": 1})
        assert response.body == b"patched"
        assert response.headers["content-length"] == "7"
    assert JSONResponse({"a": 1}).body == b'{"a":1}'


def test_json_loads_replaced_is_called_by_request_json(both: Any) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def endpoint(request: Any) -> Any:
            try:
                data = await request.json()
            except Exception as exc:  # noqa: BLE001 - what the replacement raised
                return fw.responses.PlainTextResponse(type(exc).__name__, status_code=400)
            return fw.responses.JSONResponse(data)

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint, methods=["POST"])])

    request = both(build)
    with mock.patch("json.loads", side_effect=ValueError):
        assert request("POST", "/", json={"a": 1}).status_code == 400
    with mock.patch("json.loads", return_value={"from": "mock"}):
        assert request("POST", "/", json={"a": 1}).json() == {"from": "mock"}
    assert request("POST", "/", json={"a": 1}).json() == {"a": 1}
