"""TachyonEngine: construction, add_route (both forms), middleware, url_path_for, state."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tachyon import JSONResponse, Middleware, PlainTextResponse, Request, Route, Starlette, TachyonEngine
from tachyon.applications import Starlette as StarletteFromModule
from tachyon.exceptions import HTTPException
from tachyon.routing import NoMatchFound
from tachyon.testclient import TestClient
from tachyon.types import Receive, Scope, Send


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": request.path_params.get("name", "world")})


def test_starlette_is_an_alias_of_tachyon_engine() -> None:
    assert Starlette is TachyonEngine
    assert StarletteFromModule is TachyonEngine


def test_add_route_starlette_form() -> None:
    app = TachyonEngine()
    app.add_route("/hi/{name}", hello, methods=["GET", "POST"], name="hi")
    client = TestClient(app)
    assert client.post("/hi/ann").json() == {"hello": "ann"}
    assert app.url_path_for("hi", name="bob") == "/hi/bob"
    assert app.routes[0].methods == {"GET", "HEAD", "POST"}


def test_add_route_with_a_route_object() -> None:
    app = TachyonEngine()
    app.add_route(Route("/", hello))
    assert TestClient(app).get("/").json() == {"hello": "world"}
    assert app.url_path_for("hello") == "/"


def test_add_route_rejects_a_route_object_with_extra_arguments() -> None:
    app = TachyonEngine()
    with pytest.raises(AssertionError, match="route object alone"):
        app.add_route(Route("/", hello), hello)


def test_app_state_is_a_state_and_a_replaced_state_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    from tachyon import applications
    from tachyon.datastructures import State

    app = Starlette()
    assert type(app.state) is State and vars(app.state) == {"_state": {}}
    app.state.db = "x"
    assert app.state.db == "x" and Starlette().state is not app.state

    built: list[Any] = []

    class Recording(State):
        def __init__(self) -> None:
            built.append(self)
            super().__init__()

    monkeypatch.setattr(applications, "State", Recording)
    assert Starlette().state is built[0]
    monkeypatch.setattr(applications, "State", State)
    original = State.__init__

    def init(self: State, state: Any = None) -> None:
        built.append(self)
        original(self, state)

    monkeypatch.setattr(State, "__init__", init)
    assert Starlette().state is built[1]


def test_the_app_router_is_what_router_builds_and_a_replaced_router_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    from tachyon import applications, routing

    route = Route("/", hello)
    for routes in (None, [route]):
        app = Starlette(routes=routes)
        built = routing.Router(routes)
        assert type(app.router) is routing.Router
        assert vars(app.router) == vars(built)
        assert list(vars(app.router)) == list(vars(built))
        assert type(app.router.routes) is type(built.routes)
    given = [route]
    app = Starlette(routes=given)
    assert app.routes == given and app.routes is not given
    assert TestClient(app).get("/").json() == {"hello": "world"}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield

    assert Starlette(lifespan=lifespan).router.lifespan_context is lifespan

    called: list[Any] = []
    original = routing.Router.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        called.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(routing.Router, "__init__", init)
    Starlette(routes=[route])
    assert called == [([route], True, None, None)]
    monkeypatch.setattr(routing.Router, "__init__", original)

    class Recording(routing.Router):
        pass

    monkeypatch.setattr(applications, "Router", Recording)
    assert type(Starlette().router) is Recording


def test_add_route_and_friends_append_through_a_subclass_routes_property() -> None:
    from tachyon.routing import Router

    seen: list[Any] = []

    class Logged(Router):
        @property
        def routes(self) -> Any:
            seen.append("read")
            return self._routes

        @routes.setter
        def routes(self, value: Any) -> None:
            Router.routes.fset(self, value)  # type: ignore[attr-defined]

    router = Logged()
    router.add_route("/a", _endpoint)
    router.add_route(Route("/b", _endpoint))
    assert [r.path for r in router._routes] == ["/a", "/b"] and seen == ["read", "read"]
    plain = Router()
    plain.add_route("/a", _endpoint, name="a")
    assert [(r.path, r.name) for r in plain.routes] == [("/a", "a")]
    plain.add_route("/b", _endpoint)
    assert plain.routes[1].name == "_endpoint"


async def _endpoint(request: Request) -> PlainTextResponse:  # pragma: no cover - never called
    return PlainTextResponse("")


def test_url_path_for_unknown_name_raises() -> None:
    app = TachyonEngine(routes=[Route("/u/{id:int}", hello, name="user")])
    assert app.url_path_for("user", id=3) == "/u/3"
    with pytest.raises(NoMatchFound, match='No route exists for name "user" and params "".'):
        app.url_path_for("user")
    with pytest.raises(NoMatchFound):
        app.url_path_for("nobody", id=1)


def test_state_is_shared_through_the_app() -> None:
    app = TachyonEngine()
    app.state.counter = 41

    async def endpoint(request: Request) -> JSONResponse:
        request.app.state.counter += 1
        return JSONResponse({"counter": request.app.state.counter})

    app.add_route("/", endpoint)
    assert TestClient(app).get("/").json() == {"counter": 42}
    with pytest.raises(AttributeError, match="'State' object has no attribute 'missing'"):
        _ = app.state.missing


class TimingMiddleware:
    """The product docs' pure-ASGI middleware shape."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"x-process-time", str(time.perf_counter() - start).encode()))
            await send(message)

        await self.app(scope, receive, send_wrapper)


def test_pure_asgi_middleware_wraps_every_response() -> None:
    app = TachyonEngine(routes=[Route("/", hello)], middleware=[Middleware(TimingMiddleware)])
    client = TestClient(app)
    assert float(client.get("/").headers["x-process-time"]) >= 0
    assert float(client.get("/missing").headers["x-process-time"]) >= 0


def test_middleware_order_and_add_middleware() -> None:
    seen: list[str] = []

    class Tag:
        def __init__(self, app: Any, name: str) -> None:
            self.app, self.name = app, name

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                seen.append(self.name)
            await self.app(scope, receive, send)

    app = TachyonEngine(
        routes=[Route("/", hello)], middleware=[Middleware(Tag, "outer"), Middleware(Tag, name="inner")]
    )
    app.add_middleware(Tag, "outermost")
    TestClient(app).get("/")
    assert seen == ["outermost", "outer", "inner"]
    with pytest.raises(RuntimeError, match="Cannot add middleware after an application has started"):
        app.add_middleware(Tag, "late")
    assert repr(Middleware(Tag, "a", name="b")) == "Middleware(Tag, 'a', name='b')"


def test_exception_handlers_by_status_and_class() -> None:
    class Teapot(Exception):
        pass

    async def boom(request: Request) -> JSONResponse:
        raise Teapot()

    async def forbidden(request: Request) -> JSONResponse:
        raise HTTPException(403, headers={"x-why": "nope"})

    async def on_teapot(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("short and stout", status_code=418)

    def on_404(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("custom 404", status_code=404)

    app = TachyonEngine(
        routes=[Route("/boom", boom), Route("/forbidden", forbidden)],
        exception_handlers={Teapot: on_teapot, 404: on_404},
    )
    client = TestClient(app)
    response = client.get("/boom")
    assert (response.status_code, response.text) == (418, "short and stout")
    response = client.get("/nowhere")
    assert (response.status_code, response.text) == (404, "custom 404")
    response = client.get("/forbidden")
    assert (response.status_code, response.text, response.headers["x-why"]) == (403, "Forbidden", "nope")


def test_unhandled_exception_is_a_500_and_is_reraised() -> None:
    async def broken(request: Request) -> JSONResponse:
        raise KeyError("oops")

    app = TachyonEngine(routes=[Route("/", broken)])
    with pytest.raises(KeyError):
        TestClient(app).get("/")
    response = TestClient(app, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.text) == (500, "Internal Server Error")

    debug = TestClient(TachyonEngine(debug=True, routes=[Route("/", broken)]), raise_server_exceptions=False)
    response = debug.get("/")
    assert response.status_code == 500 and "KeyError" in response.text
    response = debug.get("/", headers={"accept": "text/html"})
    assert response.status_code == 500 and "<html>" in response.text and "KeyError" in response.text


def test_lifespan_runs_around_the_client_block() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: TachyonEngine) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"db": "connected"}
        events.append("shutdown")

    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"db": request.state.db})

    app = TachyonEngine(routes=[Route("/", endpoint)], lifespan=lifespan)
    with TestClient(app) as client:
        assert events == ["startup"]
        assert client.get("/").json() == {"db": "connected"}
    assert events == ["startup", "shutdown"]


def test_sync_endpoints_run_in_a_thread() -> None:
    import threading

    main = threading.get_ident()

    def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"other_thread": threading.get_ident() != main})

    assert TestClient(TachyonEngine(routes=[Route("/", endpoint)])).get("/").json() == {"other_thread": True}
