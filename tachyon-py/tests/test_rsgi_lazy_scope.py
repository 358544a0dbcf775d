"""Under RSGI the fused dispatcher builds the ASGI scope only when something reads it.

`tachyon.rsgi.serve` routes on a `LazyScope`'s partial dict and hands a plain function
endpoint a Request whose scope is completed on first read. These tests drive `serve` with a
fake Granian scope and protocol and check that:

- a handler that never reads its request never has the scope built;
- the scope, once read, is the one the eager conversion gives, with the router's keys after
  the server's, in the same order as under ASGI, and the same dict on every read;
- the request then is a plain `Request`, and attributes it lacks raise as a Request's do;
- everything that leaves the plain endpoint call (404, 405, exception handlers, a Response
  subclass with its own `__call__`, lifespan state) sees the whole scope.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_rsgi_scope import FakeHeaders, FakeScope

from tachyon import HTTPException, JSONResponse, PlainTextResponse, Response, Route, TachyonEngine, rsgi
from tachyon._exception_handler import SCOPE_KEY
from tachyon._tachyon import LazyScope
from tachyon.requests import Request


class FakeProtocol:
    """The part of Granian's HTTP protocol object `serve` uses: body, responses."""

    def __init__(self, body: bytes = b"") -> None:
        self.body = body
        self.responses: list[tuple[int, list[tuple[str, str]], bytes]] = []

    async def __call__(self) -> bytes:
        return self.body

    async def client_disconnect(self) -> None:
        await asyncio.Event().wait()

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.responses.append((status, headers, body))


SEEN: dict[str, Any] = {}


async def untouched(request: Request) -> Response:
    SEEN["request"] = request
    SEEN["vars"] = set(vars(request))
    return JSONResponse({"message": "Hello, World!"})


async def reads_scope(request: Request) -> Response:
    SEEN["vars_on_entry"] = set(vars(request))
    first = request.scope
    SEEN["request"] = request
    SEEN["same"] = first is request.scope
    SEEN["keys"] = list(first)
    SEEN["type"] = type(request)
    return PlainTextResponse(f"{request.headers['host']} {request.url} {request.client}")


async def missing_attribute(request: Request) -> Response:
    SEEN["has_body"] = hasattr(request, "_body")
    SEEN["type"] = type(request)
    try:
        request.no_such_attribute  # noqa: B018
    except AttributeError as exc:
        SEEN["message"] = str(exc)
    return PlainTextResponse("ok")


async def fails(request: Request) -> Response:
    raise HTTPException(418, "teapot")


class Boom(Exception):
    pass


async def raises(request: Request) -> Response:
    raise Boom()


async def on_boom(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"handled at {request.url.path} from {request.headers['user-agent']}", 500)


class OwnCall(Response):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        SEEN["subclass_scope"] = scope
        await super().__call__(scope, receive, send)


async def own_call(request: Request) -> Response:
    return OwnCall(b"own")


async def state(request: Request) -> Response:
    return PlainTextResponse(request.state.greeting)


def make_app() -> TachyonEngine:
    """The app, after one request (the router builds its native table on the first)."""
    app = TachyonEngine(
        routes=[
            Route("/", untouched),
            Route("/scope", reads_scope),
            Route("/missing", missing_attribute),
            Route("/fails", fails),
            Route("/raises", raises),
            Route("/own", own_call),
            Route("/state", state),
            Route("/post-only", untouched, methods=["POST"]),
        ],
        exception_handlers={Boom: on_boom},
    )
    serve(app, "/")
    return app


def fake_scope(path: str, method: str = "GET") -> FakeScope:
    return FakeScope(
        path=path,
        method=method,
        query_string="q=1",
        headers=FakeHeaders([("host", "example.com"), ("user-agent", "lazy-test")]),
    )


def serve(app: TachyonEngine, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    SEEN.clear()
    protocol = FakeProtocol()
    asyncio.run(rsgi.serve(app, fake_scope(path, method), protocol))
    [(status, headers, body)] = protocol.responses
    return status, dict(headers), body


@pytest.fixture
def app() -> TachyonEngine:
    return make_app()


def test_a_handler_that_reads_nothing_never_builds_the_scope(app: TachyonEngine) -> None:
    status, headers, body = serve(app, "/")
    assert (status, body) == (200, b'{"message":"Hello, World!"}')
    assert headers["content-type"] == "application/json"
    request = SEEN["request"]
    assert "scope" not in SEEN["vars"]
    assert isinstance(request, Request)
    assert repr(request).startswith("<tachyon.requests.Request object")
    # Read afterwards: the whole scope, routed.
    assert request.scope["path"] == "/"
    assert request.scope["headers"] == [(b"host", b"example.com"), (b"user-agent", b"lazy-test")]
    assert type(request) is Request


def test_the_scope_read_is_the_eager_conversion_plus_the_routers_keys(app: TachyonEngine) -> None:
    status, _, body = serve(app, "/scope")
    assert status == 200
    assert body == b"example.com http://example.com/scope?q=1 Address(host='127.0.0.1', port=50123)"
    assert SEEN["same"] is True
    assert SEEN["type"] is Request
    eager = list(rsgi.asgi_scope(fake_scope("/scope")))
    assert SEEN["keys"] == [*eager, "app", SCOPE_KEY, "router", "route", "endpoint", "path_params"]
    scope = SEEN["request"].scope
    converted = rsgi.asgi_scope(fake_scope("/scope"))
    for key, value in converted.items():
        if key != "state":
            assert scope[key] == value, key
    assert scope["app"] is app
    assert scope["endpoint"] is reads_scope


def test_the_same_keys_in_the_same_order_as_the_eager_path(app: TachyonEngine) -> None:
    serve(app, "/scope")
    lazy_keys = SEEN["keys"]
    # The ASGI path, with the scope the eager conversion gives.
    scope = rsgi.asgi_scope(fake_scope("/scope"))
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    assert SEEN["keys"] == lazy_keys


def test_a_missing_attribute_raises_as_on_a_request(app: TachyonEngine) -> None:
    status, _, body = serve(app, "/missing")
    assert (status, body) == (200, b"ok")
    assert SEEN["has_body"] is False
    assert SEEN["type"] is Request
    assert SEEN["message"] == "'Request' object has no attribute 'no_such_attribute'"


@pytest.mark.parametrize(
    ("path", "method", "status", "body"),
    [
        ("/nothing", "GET", 404, b"Not Found"),
        ("/post-only", "GET", 405, b"Method Not Allowed"),
        ("/fails", "GET", 418, b"teapot"),
        ("/raises", "GET", 500, b"handled at /raises from lazy-test"),
        ("/own", "GET", 200, b"own"),
    ],
)
def test_everything_off_the_plain_call_gets_the_whole_scope(
    app: TachyonEngine, path: str, method: str, status: int, body: bytes
) -> None:
    got_status, _, got_body = serve(app, path, method)
    assert (got_status, got_body) == (status, body)
    if path == "/own":
        scope = SEEN["subclass_scope"]
        assert scope["headers"] == [(b"host", b"example.com"), (b"user-agent", b"lazy-test")]
        assert scope["endpoint"] is own_call


def test_lifespan_state_reaches_a_lazy_scope() -> None:
    app = make_app()
    lifespan = rsgi.Lifespan(app)
    lifespan.state["greeting"] = "hello from lifespan"
    rsgi._app_state(app).lifespan = lifespan
    status, _, body = serve(app, "/state")
    assert (status, body) == (200, b"hello from lifespan")


def test_lazy_scope_is_built_once_in_place() -> None:
    lazy = rsgi._lazy(fake_scope("/a/b"), {"k": 1})
    assert isinstance(lazy, LazyScope)
    partial = lazy.partial
    eager = rsgi.asgi_scope(fake_scope("/a/b"), {"k": 1})
    assert list(partial) == list(eager)
    filled = {"type": "http", "method": "GET", "root_path": "", "path": "/a/b"}
    assert {key: partial[key] for key in filled} == filled
    assert all(partial[key] is None for key in partial if key not in filled and key not in ("asgi", "extensions"))
    partial["route"] = "written by the router"
    assert not lazy.completed
    full = lazy.complete()
    assert lazy.completed
    assert full is partial is lazy.complete()
    assert full == {**eager, "route": "written by the router"}
    assert list(full) == [*eager, "route"]


def test_an_endpoint_that_read_its_scope_gets_it_up_front_next_time(app: TachyonEngine) -> None:
    serve(app, "/scope")
    assert SEEN["type"] is Request
    first = SEEN["request"]
    serve(app, "/scope")
    assert SEEN["request"] is not first
    assert "scope" in SEEN["vars_on_entry"]
    assert "_lazy_scope" not in SEEN["vars_on_entry"]
    assert SEEN["keys"] == list(first.scope)
    # Learned per route: the endpoint that reads nothing still gets a lazy scope.
    serve(app, "/")
    assert "scope" not in SEEN["vars"]


def test_a_websocket_scope_is_never_lazy() -> None:
    scope = fake_scope("/ws")
    scope.proto = "ws"
    assert rsgi._lazy(scope, None) is None
