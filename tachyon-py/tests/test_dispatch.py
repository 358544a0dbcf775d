"""The one dispatcher (tachyon._dispatch): which stacks it fuses, and that what it serves
is byte for byte what Starlette serves, for every kind of endpoint and outcome."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from tachyon._dispatch import FusedPath, fused_path
from tachyon._tachyon import DispatchCall, FusedDispatch
from tachyon.applications import Starlette
from tachyon.middleware import Middleware
from tachyon.middleware.errors import ServerErrorMiddleware
from tachyon.middleware.exceptions import ExceptionMiddleware
from tachyon.responses import JSONResponse, PlainTextResponse, Response
from tachyon.routing import Route, Router


class Boom(Exception):
    pass


def dispatch_app(fw: SimpleNamespace) -> Any:
    """One app with every kind of endpoint the dispatcher must serve as Starlette does."""
    JSONResponse = fw.responses.JSONResponse
    PlainTextResponse = fw.responses.PlainTextResponse
    Response = fw.responses.Response
    Route, Mount = fw.routing.Route, fw.routing.Mount
    HTTPException = fw.exceptions.HTTPException
    log: list[str] = []

    async def plain(request: Any) -> Any:
        return JSONResponse({"path": request.url.path, "params": request.path_params})

    def sync(request: Any) -> Any:
        return PlainTextResponse(f"sync {request.method}")

    class Things(fw.endpoints.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse("things get")

        async def post(self, request: Any) -> Any:
            return JSONResponse(await request.json(), status_code=201)

    class Shouting(Response):
        media_type = "text/plain"

        def render(self, content: Any) -> bytes:
            return str(content).upper().encode()

    class Framed(Response):
        """A Response subclass with its own `__call__`: three body messages."""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 207, "headers": [(b"x-framed", b"1")]})
            for part in (b"a", b"b"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b"c"})

    async def shouting(request: Any) -> Any:
        return Shouting("quiet")

    async def framed(request: Any) -> Any:
        return Framed()

    async def http_error(request: Any) -> Any:
        raise HTTPException(status_code=418, detail="teapot", headers={"x-why": "tea"})

    async def registered(request: Any) -> Any:
        raise Boom("registered")

    async def unhandled(request: Any) -> Any:
        raise RuntimeError("nobody handles this")

    async def background(request: Any) -> Any:
        def record(word: str) -> None:
            log.append(word)

        return PlainTextResponse("queued", background=fw.background.BackgroundTask(record, "ran"))

    async def background_log(request: Any) -> Any:
        return JSONResponse(log)

    async def sleeps(request: Any) -> Any:
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        return PlainTextResponse("slept")

    async def awaits_future(request: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_later(0.001, future.set_result, "resolved later")
        return PlainTextResponse(await future)

    async def reads_body(request: Any) -> Any:
        body = await request.body()
        return Response(body[::-1], media_type="application/octet-stream")

    async def returns_none(request: Any) -> Any:
        return None

    async def boom_handler(request: Any, exc: Exception) -> Any:
        return JSONResponse({"handled": str(exc), "path": request.url.path}, status_code=409)

    async def sub_endpoint(request: Any) -> Any:
        return JSONResponse(
            {"root_path": request.scope["root_path"], "path": request.url.path, "id": request.path_params["id"]}
        )

    sub = fw.applications.Starlette(routes=[Route("/item/{id:int}", sub_endpoint)])
    return fw.applications.Starlette(
        routes=[
            Route("/plain/{name}", plain),
            Route("/sync", sync, methods=["GET", "POST"]),
            Route("/things", Things),
            Route("/shouting", shouting),
            Route("/framed", framed),
            Route("/http-error", http_error),
            Route("/registered", registered),
            Route("/unhandled", unhandled),
            Route("/background", background),
            Route("/background-log", background_log),
            Route("/sleeps", sleeps),
            Route("/future", awaits_future),
            Route("/reads-body", reads_body, methods=["POST"]),
            Route("/none", returns_none),
            Mount("/sub", app=sub),
        ],
        exception_handlers={Boom: boom_handler},
    )


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/plain/alpha", {}),
    ("HEAD", "/plain/alpha", {}),
    ("GET", "/sync", {}),
    ("POST", "/sync", {}),
    ("HEAD", "/sync", {}),
    ("GET", "/things", {}),
    ("POST", "/things", {"json": {"a": 1}}),
    ("PUT", "/things", {}),
    ("GET", "/shouting", {}),
    ("GET", "/framed", {}),
    ("HEAD", "/framed", {}),
    ("GET", "/http-error", {}),
    ("GET", "/registered", {}),
    ("GET", "/unhandled", {}),
    ("GET", "/background", {}),
    ("GET", "/sleeps", {}),
    ("GET", "/future", {}),
    ("POST", "/reads-body", {"content": b"0123456789" * 10_000}),
    ("GET", "/none", {}),
    ("GET", "/sub/item/7", {}),
    ("HEAD", "/sub/item/7", {}),
    ("GET", "/sub/item/x", {}),
    ("POST", "/plain/alpha", {}),
    ("GET", "/missing", {}),
    ("GET", "/plain/alpha/", {"follow_redirects": False}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), REQUESTS, ids=[f"{m} {u}" for m, u, _ in REQUESTS])
def test_same_bytes_as_starlette(both: Any, method: str, url: str, kwargs: dict[str, Any]) -> None:
    request = both(dispatch_app, raise_server_exceptions=False)
    request(method, url, **kwargs)


def test_background_task_runs_after_the_response(both: Any) -> None:
    request = both(dispatch_app)
    assert request("GET", "/background").text == "queued"
    assert request("GET", "/background-log").json() == ["ran"]


def test_the_app_is_served_by_the_native_dispatcher() -> None:
    from conftest import TACHYON

    app = dispatch_app(TACHYON)
    assert isinstance(app._dispatcher(), FusedDispatch)
    assert app._dispatch is not None and app._dispatch[0] is app.middleware_stack


def test_unhandled_errors_are_raised_through_the_test_client() -> None:
    from conftest import TACHYON

    client = TACHYON.testclient.TestClient(dispatch_app(TACHYON))
    with pytest.raises(RuntimeError, match="nobody handles this"):
        client.get("/unhandled")
    # A response of the wrong type fails as Starlette's route does.
    with pytest.raises(TypeError):
        client.get("/none")


async def endpoint(request: Any) -> Any:
    return PlainTextResponse("ok")


class PassThrough:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class MyExceptionMiddleware(ExceptionMiddleware):
    pass


class MyRouter(Router):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await super().__call__(scope, receive, send)


def test_which_stacks_are_fused() -> None:
    plain = Starlette(routes=[Route("/", endpoint)])
    assert isinstance(plain._dispatcher(), FusedDispatch)

    with_middleware = Starlette(routes=[Route("/", endpoint)], middleware=[Middleware(PassThrough)])
    assert with_middleware._dispatcher() is with_middleware.middleware_stack

    limited = Starlette(routes=[Route("/", endpoint)], max_body_size=10)
    assert limited._dispatcher() is limited.middleware_stack

    router = Router([Route("/", endpoint)])
    assert isinstance(fused_path(ServerErrorMiddleware(ExceptionMiddleware(router))), FusedPath)
    assert isinstance(fused_path(ExceptionMiddleware(router)), FusedPath)
    assert fused_path(ServerErrorMiddleware(MyExceptionMiddleware(router))) is None
    assert fused_path(ExceptionMiddleware(MyRouter([Route("/", endpoint)]))) is None
    assert fused_path(ExceptionMiddleware(Router([Route("/", endpoint)], middleware=[Middleware(PassThrough)]))) is None
    assert fused_path(PassThrough(router)) is None


def test_a_replaced_stack_is_asked_again() -> None:
    app = Starlette(routes=[Route("/", endpoint)])
    client = TACHYON_CLIENT(app)
    assert client.get("/").text == "ok"
    seen: list[str] = []

    async def replacement(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await PlainTextResponse("replaced")(scope, receive, send)

    app.middleware_stack = replacement
    assert client.get("/x").text == "replaced"
    assert seen == ["/x"]


def TACHYON_CLIENT(app: Any) -> Any:
    from tachyon.testclient import TestClient

    return TestClient(app)


# --- the awaitable itself ----------------------------------------------------------------------


def _scope(path: str = "/") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"example.org")],
        "server": ("example.org", 80),
        "client": ("127.0.0.1", 1234),
    }


def _collecting() -> tuple[list[dict[str, Any]], Any, Any]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return sent, receive, send


def test_a_call_is_an_awaitable_that_sends_two_messages() -> None:
    app = Starlette(routes=[Route("/", endpoint)])
    dispatcher = app._dispatcher()
    sent, receive, send = _collecting()
    call = dispatcher(_scope(), receive, send)
    assert isinstance(call, DispatchCall)
    assert call.__await__() is call
    asyncio.run(_await(call))
    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"2"), (b"content-type", b"text/plain; charset=utf-8")],
        },
        {"type": "http.response.body", "body": b"ok"},
    ]


async def _await(awaitable: Any) -> Any:
    return await awaitable


def test_a_handler_that_never_suspends_needs_no_event_loop() -> None:
    app = Starlette(routes=[Route("/", endpoint)])
    sent, receive, send = _collecting()
    call = app._dispatcher()(_scope(), receive, send)
    with pytest.raises(StopIteration):
        call.send(None)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


def test_cancelling_a_suspended_handler_runs_its_finally() -> None:
    events: list[str] = []

    async def slow(request: Any) -> Any:
        try:
            await asyncio.sleep(10)
        finally:
            events.append("finally")
        return PlainTextResponse("never")  # pragma: no cover

    app = Starlette(routes=[Route("/", slow)])
    sent, receive, send = _collecting()

    async def main() -> None:
        task = asyncio.ensure_future(_await(app._dispatcher()(_scope(), receive, send)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert events == ["finally"]
    assert sent == []


def test_close_closes_the_suspended_handler() -> None:
    # The same suspended handler as the test above, written out so each test reads alone:
    # there the task is cancelled, here the dispatch coroutine itself is closed.
    events: list[str] = []

    async def waits(request: Any) -> Any:
        try:
            await asyncio.sleep(10)
        finally:
            events.append("closed")
        return PlainTextResponse("never")  # pragma: no cover

    app = Starlette(routes=[Route("/", waits)])
    sent, receive, send = _collecting()

    async def main() -> None:
        call = app._dispatcher()(_scope(), receive, send)
        yielded = call.send(None)  # the sleep's future
        assert isinstance(yielded, asyncio.Future)
        call.close()
        yielded.cancel()

    asyncio.run(main())
    assert events == ["closed"]
    assert sent == []


def test_throw_before_the_first_step_raises_it() -> None:
    app = Starlette(routes=[Route("/", endpoint)])
    sent, receive, send = _collecting()
    call = app._dispatcher()(_scope(), receive, send)
    with pytest.raises(KeyError, match="thrown"):
        call.throw(KeyError("thrown"))
    with pytest.raises(StopIteration):
        call.send(None)
    assert sent == []


def test_thrown_exception_reaches_the_handler_and_its_handlers() -> None:
    async def waits(request: Any) -> Any:
        await asyncio.sleep(10)
        return PlainTextResponse("never")  # pragma: no cover

    async def boom_handler(request: Any, exc: Exception) -> Any:
        return PlainTextResponse(f"handled {exc}", status_code=409)

    app = Starlette(routes=[Route("/", waits)], exception_handlers={Boom: boom_handler})
    sent, receive, send = _collecting()

    async def main() -> None:
        call = app._dispatcher()(_scope(), receive, send)
        future = call.send(None)
        with pytest.raises(StopIteration):
            call.throw(Boom("thrown in"))
        future.cancel()

    asyncio.run(main())
    assert sent[0]["status"] == 409
    assert sent[1]["body"] == b"handled thrown in"


def test_runs_under_trio_too() -> None:
    """trio resumes a task with non-None values (its own trap protocol): they pass through."""

    async def sleeps(request: Any) -> Any:
        await anyio.sleep(0.001)
        return JSONResponse({"slept": True})

    app = Starlette(routes=[Route("/", sleeps)])
    sent, receive, send = _collecting()

    async def main() -> None:
        await app(_scope(), receive, send)

    anyio.run(main, backend="trio")
    assert sent[1]["body"] == b'{"slept":true}'


def test_non_http_scopes_go_through_the_layers() -> None:
    app = Starlette(routes=[Route("/", endpoint)])
    events: list[str] = []
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    asyncio.run(app._dispatcher()({"type": "lifespan", "state": {}}, receive, send))
    assert events == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_a_plain_response_subclass_without_its_own_call_is_sent_natively() -> None:
    class Tagged(Response):
        media_type = "text/plain"

    async def tagged(request: Any) -> Any:
        return Tagged("tag", headers={"x-tag": "1"})

    app = Starlette(routes=[Route("/", tagged)])
    sent, receive, send = _collecting()
    asyncio.run(_await(app._dispatcher()(_scope(), receive, send)))
    assert sent[0]["headers"] == [
        (b"x-tag", b"1"),
        (b"content-length", b"3"),
        (b"content-type", b"text/plain; charset=utf-8"),
    ]
    assert sent[1] == {"type": "http.response.body", "body": b"tag"}


def test_the_request_is_the_one_its_constructor_builds() -> None:
    seen: list[Any] = []

    async def keep(request: Any) -> Any:
        seen.append(request)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", keep)])
    sent, receive, send = _collecting()
    asyncio.run(_await(app._dispatcher()(_scope(), receive, send)))
    (request,) = seen
    from tachyon.requests import Request

    built = Request(request.scope, receive, send)
    assert type(request) is Request
    assert vars(request) == vars(built)
    assert request.receive is receive


def test_a_cycle_through_a_call_is_collected() -> None:
    import gc
    import weakref

    class Marker:
        pass

    app = Starlette(routes=[Route("/", endpoint)])
    sent, receive, send = _collecting()
    scope = _scope()
    marker = Marker()
    scope["marker"] = marker
    call = app._dispatcher()(scope, receive, send)
    scope["call"] = call  # scope -> call -> scope
    alive = weakref.ref(marker)
    del scope, call, marker
    gc.collect()
    assert alive() is None
