"""RSGI against ASGI, on real servers: the same app must answer byte for byte the same.

Each server runs in a subprocess on a free loopback port: Granian over RSGI, Granian over
ASGI, and uvicorn. Under one server (Granian) the whole response must be identical, header
order included; uvicorn writes its own `server`/`date` headers in another place, so against
it the headers are compared as a multiset without those two.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _servers import Response, free_port, request, serving, tachyon_cli

pytest.importorskip("granian")
pytest.importorskip("uvicorn")

APP_SOURCE = textwrap.dedent(
    '''
    import contextlib
    from tachyon import (
        HTMLResponse, HTTPException, JSONResponse, Middleware, PlainTextResponse, RedirectResponse,
        Response, Route, TachyonEngine,
    )
    from tachyon.background import BackgroundTask
    from tachyon.rsgi import RSGIApp

    EVENTS = []


    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield {"greeting": "hello from lifespan"}


    async def hello(request):
        return JSONResponse({"message": "Hello, World!"})


    async def suspends(request):
        # Really suspends, twice: the native dispatcher passes the waits to the server's loop.
        import asyncio

        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_later(0.001, future.set_result, "resolved later")
        return PlainTextResponse(await future)


    async def user(request):
        return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


    async def echo(request):
        return JSONResponse(await request.json())


    async def raw_echo(request):
        return Response(await request.body(), media_type="application/octet-stream")


    async def text(request):
        response = PlainTextResponse("café ☕", headers={"X-Custom": "one", "Cache-Control": "no-store"})
        response.set_cookie("session", "abc", httponly=True)
        response.headers.append("x-custom", "two")
        return response


    async def html(request):
        return HTMLResponse("<h1>hi</h1>", status_code=201)


    async def empty(request):
        return Response(status_code=204)


    async def teapot(request):
        raise HTTPException(status_code=418, detail="short and stout", headers={"X-Tea": "earl grey"})


    async def boom(request):
        raise RuntimeError("boom")


    class Custom(Exception):
        pass


    async def custom(request):
        raise Custom()


    async def on_custom(request, exc):
        return PlainTextResponse("handled custom", status_code=409)


    def sync(request):
        return JSONResponse({"sync": True, "method": request.method})


    async def inspect(request):
        return JSONResponse({
            "path": request.url.path,
            "query": str(request.query_params),
            "scheme": request.url.scheme,
            "client_is_loopback": request.client.host == "127.0.0.1",
            "host": request.headers["host"].split(":")[0],
            "x_multi": request.headers.getlist("x-multi"),
            "state": request.state.greeting,
            "http_version": request.scope["http_version"],
        })


    async def go(request):
        return RedirectResponse("/users/7?q=r")


    async def background(request):
        return PlainTextResponse("queued", background=BackgroundTask(EVENTS.append, "ran"))


    async def events(request):
        return JSONResponse(EVENTS)


    async def bytes_view(request):
        return Response(memoryview(b"a memoryview body"), media_type="text/plain")


    class Streamed:
        """A raw ASGI endpoint sending its body in three parts."""

        async def __call__(self, scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            for part in (b"one,", b"two,", b"three"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})


    class Tag:
        """A pure-ASGI middleware: tags the response with what it saw of the request body.

        (The size, not the number of messages: how a body is split into messages is the
        server's choice; Granian's RSGI hands it over whole.)
        """

        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            seen = []

            async def counting_receive():
                message = await receive()
                seen.append(len(message.get("body", b"")))
                return message

            async def tagging_send(message):
                if message["type"] == "http.response.start":
                    tag = f"{len(seen) > 0}:{sum(seen)}".encode()
                    message["headers"] = [*message.get("headers", []), (b"x-tag", tag)]
                await send(message)

            await self.app(scope, counting_receive, tagging_send)


    routes = [
        Route("/", hello),
        Route("/suspends", suspends),
        Route("/users/{id:int}", user),
        Route("/echo", echo, methods=["POST"]),
        Route("/raw", raw_echo, methods=["POST", "PUT"]),
        Route("/text", text),
        Route("/html", html),
        Route("/empty", empty),
        Route("/teapot", teapot),
        Route("/boom", boom),
        Route("/custom", custom),
        Route("/sync", sync, methods=["GET", "DELETE"]),
        Route("/inspect/{rest:path}", inspect),
        Route("/go", go),
        Route("/background", background),
        Route("/events", events),
        Route("/view", bytes_view),
        Route("/stream", Streamed()),
    ]

    app = TachyonEngine(routes=routes, lifespan=lifespan, exception_handlers={Custom: on_custom})
    mw_app = TachyonEngine(
        routes=routes, lifespan=lifespan, exception_handlers={Custom: on_custom}, middleware=[Middleware(Tag)]
    )


    async def ws_echo(scope, receive, send):
        """A bare ASGI app: websocket echo, and a plain-text answer over http."""
        if scope["type"] == "websocket":
            message = await receive()
            assert message["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") is not None:
                    if message["text"] == "bye":
                        await send({"type": "websocket.close", "code": 1000})
                        return
                    await send({"type": "websocket.send", "text": "echo:" + message["text"]})
                else:
                    await send({"type": "websocket.send", "bytes": b"echo:" + message["bytes"]})
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"bare"})


    bare_rsgi = RSGIApp(ws_echo)
    '''
)

REQUESTS: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    ("GET", "/", None, {}),
    ("HEAD", "/", None, {}),
    ("GET", "/suspends", None, {}),
    ("GET", "/users/42?q=search%20term&q=two", None, {}),
    ("GET", "/users/notanint", None, {}),
    ("GET", "/users/42/", None, {}),
    ("POST", "/users/42", None, {}),
    ("POST", "/echo", b'{"a":[1,2,{"b":null}],"s":"\\u00e9"}', {"content-type": "application/json"}),
    ("POST", "/echo", b"{not json", {"content-type": "application/json"}),
    ("POST", "/echo", b"", {}),
    ("PUT", "/raw", bytes(range(256)) * 64, {}),
    ("GET", "/text", None, {}),
    ("GET", "/html", None, {}),
    ("GET", "/empty", None, {}),
    ("GET", "/teapot", None, {}),
    ("GET", "/boom", None, {}),
    ("GET", "/custom", None, {}),
    ("GET", "/sync", None, {}),
    ("DELETE", "/sync", None, {}),
    ("GET", "/inspect/a/b%20c?x=1&y=%C3%A9", None, {"X-Multi": "1"}),
    ("GET", "/go", None, {}),
    ("GET", "/view", None, {}),
    ("GET", "/stream", None, {}),
    ("GET", "/missing", None, {}),
]
IDS = [f"{method} {path}" for method, path, _, _ in REQUESTS]

# Headers each server writes itself (or, for transfer-encoding, chooses per server).
SERVER_HEADERS = {"date", "server"}


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rsgi_app")
    (directory / "served.py").write_text(APP_SOURCE)
    return directory


@pytest.fixture(scope="module")
def servers(app_dir: Path) -> Iterator[dict[str, Any]]:
    """(app, server, interface) -> running Server, all started together."""
    specs = {
        ("app", "granian", "rsgi"),
        ("app", "granian", "asgi"),
        ("app", "uvicorn", "asgi"),
        ("mw_app", "granian", "rsgi"),
        ("mw_app", "granian", "asgi"),
        ("mw_app", "uvicorn", "asgi"),
        ("bare_rsgi", "granian", "rsgi"),
        ("ws_echo", "uvicorn", "asgi"),
    }
    from contextlib import ExitStack

    with ExitStack() as stack:
        running = {}
        for name, server, interface in sorted(specs):
            port = free_port()
            args = tachyon_cli(f"served:{name}", app_dir, port, "--server", server, "--interface", interface)
            log = app_dir / f"{name}-{server}-{interface}.log"
            running[(name, server, interface)] = stack.enter_context(serving(args, log, port))
        yield running


def comparable(response: Response) -> Response:
    status, headers, body = response
    return status, [(k.lower(), v) for k, v in headers if k.lower() not in SERVER_HEADERS], body


def as_multiset(response: Response) -> tuple[int, list[tuple[str, str]], bytes]:
    status, headers, body = comparable(response)
    # uvicorn sends a body of unknown length chunked, Granian too, but may place the header
    # elsewhere; the values must still agree.
    return status, sorted(headers), body


@pytest.mark.parametrize("app_name", ["app", "mw_app"])
@pytest.mark.parametrize(("method", "path", "body", "headers"), REQUESTS, ids=IDS)
def test_rsgi_matches_asgi_on_granian(
    servers: dict[Any, Any], app_name: str, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> None:
    rsgi = request(servers[(app_name, "granian", "rsgi")].port, method, path, body, headers)
    asgi = request(servers[(app_name, "granian", "asgi")].port, method, path, body, headers)
    assert comparable(rsgi) == comparable(asgi)


@pytest.mark.parametrize("app_name", ["app", "mw_app"])
@pytest.mark.parametrize(("method", "path", "body", "headers"), REQUESTS, ids=IDS)
def test_rsgi_matches_uvicorn(
    servers: dict[Any, Any], app_name: str, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> None:
    rsgi = request(servers[(app_name, "granian", "rsgi")].port, method, path, body, headers)
    uvicorn = request(servers[(app_name, "uvicorn", "asgi")].port, method, path, body, headers)
    rsgi_status, rsgi_headers, rsgi_body = as_multiset(rsgi)
    uv_status, uv_headers, uv_body = as_multiset(uvicorn)
    assert (rsgi_status, rsgi_body) == (uv_status, uv_body)
    # A streamed body: uvicorn says `transfer-encoding: chunked`; Granian's hyper decides alone.
    drop = {"transfer-encoding"}
    assert [h for h in rsgi_headers if h[0] not in drop] == [h for h in uv_headers if h[0] not in drop]


def test_responses_are_what_the_app_says(servers: dict[Any, Any]) -> None:
    port = servers[("app", "granian", "rsgi")].port
    assert request(port, "GET", "/")[2] == b'{"message":"Hello, World!"}'
    status, headers, body = request(port, "GET", "/text")
    assert status == 200 and body == "café ☕".encode()
    assert [v for k, v in headers if k.lower() == "x-custom"] == ["one", "two"]
    assert any(k.lower() == "set-cookie" and v.startswith("session=abc") for k, v in headers)
    assert request(port, "GET", "/boom")[:1] == (500,)
    assert request(port, "GET", "/stream")[2] == b"one,two,three"
    status, _, body = request(port, "PUT", "/raw", bytes(range(256)) * 64)
    assert status == 200 and body == bytes(range(256)) * 64


def test_lifespan_state_reaches_requests_under_rsgi(servers: dict[Any, Any]) -> None:
    for key in (("app", "granian", "rsgi"), ("mw_app", "granian", "rsgi")):
        status, _, body = request(servers[key].port, "GET", "/inspect/x")
        assert status == 200
        assert b'"state":"hello from lifespan"' in body


def test_background_task_runs_under_rsgi(servers: dict[Any, Any]) -> None:
    port = servers[("app", "granian", "rsgi")].port
    assert request(port, "GET", "/background")[2] == b"queued"
    # The task runs after the response went out (in a worker thread, being sync): the
    # next request can be answered before it is done, so wait for it, within a bound.
    deadline = time.monotonic() + 10
    while (events := request(port, "GET", "/events")[2]) == b"[]" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events == b'["ran"]'


def test_pure_asgi_middleware_sees_the_body_under_rsgi(servers: dict[Any, Any]) -> None:
    status, headers, _ = request(servers[("mw_app", "granian", "rsgi")].port, "POST", "/echo", b"[1]")
    assert status == 200
    assert ("x-tag", "True:3") in [(k.lower(), v) for k, v in headers]


def test_bare_asgi_app_wrapped_for_rsgi(servers: dict[Any, Any]) -> None:
    assert request(servers[("bare_rsgi", "granian", "rsgi")].port, "GET", "/")[::2] == (200, b"bare")


@pytest.mark.parametrize("key", [("bare_rsgi", "granian", "rsgi"), ("ws_echo", "uvicorn", "asgi")])
def test_websocket_echo(servers: dict[Any, Any], key: tuple[str, str, str]) -> None:
    connect = pytest.importorskip("websockets.sync.client").connect
    from websockets.exceptions import ConnectionClosedOK

    with connect(f"ws://127.0.0.1:{servers[key].port}/ws", open_timeout=10, close_timeout=5) as ws:
        ws.send("hi")
        assert ws.recv(timeout=10) == "echo:hi"
        ws.send(b"\x00\x01")
        assert ws.recv(timeout=10) == b"echo:\x00\x01"
        ws.send("bye")
        # The app closes with 1000. uvicorn sends that code; Granian 2.8.7's RSGI close()
        # sends a close frame without one (the client reads 1005): either way, a clean close.
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=10)
