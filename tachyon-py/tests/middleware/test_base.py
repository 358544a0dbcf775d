"""BaseHTTPMiddleware on Starlette and on Tachyon: same dispatch code, same responses."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from _asgi import Messages, asgi, run_asgi, stacks

STARLETTE_BASE, TACHYON_BASE = stacks("middleware.base")


def base(fw: SimpleNamespace) -> Any:
    return importlib.import_module(f"{fw.name}.middleware.base")


async def streaming_asgi(scope: Any, receive: Any, send: Any) -> None:
    """A raw app streaming three chunks (no StreamingResponse needed)."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for chunk in (b"one ", b"two ", b"three"):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def silent_asgi(scope: Any, receive: Any, send: Any) -> None:
    """A raw app that never answers."""


def build(fw: SimpleNamespace, log: list[str] | None = None) -> Any:
    Route, Mount = fw.routing.Route, fw.routing.Mount
    responses = fw.responses
    events = [] if log is None else log

    class CustomHeader(base(fw).BaseHTTPMiddleware):
        async def dispatch(self, request: Any, call_next: Any) -> Any:
            if request.url.path == "/short-circuit":
                return responses.PlainTextResponse("short", status_code=418)
            if request.url.path == "/read-body-first":
                body = await request.body()
                response = await call_next(request)
                response.headers["X-Seen"] = str(len(body))
                return response
            if request.url.path == "/drain-stream-first":
                async for _ in request.stream():
                    pass
                return await call_next(request)
            if request.url.path == "/catch":
                try:
                    return await call_next(request)
                except ValueError as exc:
                    return responses.PlainTextResponse(f"caught {exc}", status_code=500)
            response = await call_next(request)
            response.headers["Custom-Header"] = "Example"
            return response

    async def homepage(request: Any) -> Any:
        return responses.PlainTextResponse("Homepage")

    async def echo(request: Any) -> Any:
        return responses.JSONResponse({"body": (await request.body()).decode()})

    async def boom(request: Any) -> Any:
        raise ValueError("boom")

    async def not_found(request: Any) -> Any:
        raise fw.exceptions.HTTPException(404, "nope", headers={"X-Why": "testing"})

    async def background(request: Any) -> Any:
        def task() -> None:
            events.append("background ran")

        return responses.PlainTextResponse("bg", background=fw.background.BackgroundTask(task))

    async def no_content(request: Any) -> Any:
        return responses.Response(status_code=204)

    async def cookies(request: Any) -> Any:
        response = responses.PlainTextResponse("c")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2", httponly=True)
        return response

    return fw.applications.Starlette(
        routes=[
            Route("/", homepage),
            Route("/short-circuit", homepage),
            Route("/read-body-first", echo, methods=["POST"]),
            Route("/drain-stream-first", echo, methods=["POST"]),
            Route("/echo", echo, methods=["POST"]),
            Route("/boom", boom),
            Route("/catch", boom),
            Route("/not-found", not_found),
            Route("/background", background),
            Route("/no-content", no_content),
            Route("/cookies", cookies),
            Mount("/stream", app=streaming_asgi),
        ],
        middleware=[fw.middleware.Middleware(CustomHeader)],
    )


def framework_with_background(name: str) -> SimpleNamespace:
    from conftest import framework

    fw = framework(name)
    fw.background = importlib.import_module(f"{name}.background")
    return fw


@pytest.fixture
def request_both(both: Any) -> Any:
    return both(lambda fw: build(framework_with_background(fw.name)), raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/", {}),
        ("HEAD", "/", {}),
        ("GET", "/missing", {}),
        ("POST", "/", {}),
        ("GET", "/short-circuit", {}),
        ("POST", "/read-body-first", {"content": b"hello body"}),
        ("POST", "/drain-stream-first", {"content": b"hello body"}),
        ("POST", "/echo", {"content": b"hello body"}),
        ("GET", "/boom", {}),
        ("GET", "/catch", {}),
        ("GET", "/not-found", {}),
        ("GET", "/background", {}),
        ("GET", "/no-content", {}),
        ("GET", "/cookies", {}),
        ("GET", "/stream", {}),
        ("GET", "/stream/deeper", {}),
    ],
)
def test_dispatch_matches_starlette(request_both: Any, method: str, path: str, kwargs: dict[str, Any]) -> None:
    request_both(method, path, **kwargs)


def test_body_read_in_dispatch_reaches_endpoint(request_both: Any) -> None:
    response = request_both("POST", "/read-body-first", content=b"abc")
    assert response.json() == {"body": "abc"}
    assert response.headers["x-seen"] == "3"
    # A drained stream leaves nothing for the endpoint, rather than a hang.
    assert request_both("POST", "/drain-stream-first", content=b"abc").json() == {"body": ""}


def test_background_task_runs() -> None:
    log: list[str] = []
    client = framework_with_background("tachyon").testclient.TestClient(
        build(framework_with_background("tachyon"), log)
    )
    assert client.get("/background").text == "bg"
    assert log == ["background ran"]


@pytest.mark.parametrize("module", [STARLETTE_BASE, TACHYON_BASE], ids=["starlette", "tachyon"])
def test_exception_propagates_unwrapped(module: Any) -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("inner")

    async def dispatch(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    with pytest.raises(KeyError, match="inner"):
        asgi(module.BaseHTTPMiddleware(failing, dispatch=dispatch))


@pytest.mark.parametrize("module", [STARLETTE_BASE, TACHYON_BASE], ids=["starlette", "tachyon"])
def test_no_response_returned(module: Any) -> None:
    async def dispatch(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    with pytest.raises(RuntimeError, match="No response returned."):
        asgi(module.BaseHTTPMiddleware(silent_asgi, dispatch=dispatch))


def test_exception_after_response_start_is_raised() -> None:
    async def half(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        raise ValueError("mid-stream")

    def run(module: Any) -> list[str]:
        sent: Messages = []

        async def main() -> None:
            async def dispatch(request: Any, call_next: Any) -> Any:
                return await call_next(request)

            app = module.BaseHTTPMiddleware(half, dispatch=dispatch)
            try:
                sent.extend(await run_asgi(app))
            except ValueError as exc:
                sent.append({"type": f"raised {exc}"})

        anyio.run(main)
        return [message["type"] for message in sent]

    assert run(TACHYON_BASE) == run(STARLETTE_BASE)


def test_debug_and_early_hint_messages_match() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.debug", "info": {"template": "x"}})
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload"]})
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-a", b"1")]})
        await send({"type": "http.response.body", "body": b"hello", "more_body": True})
        await send({"type": "http.response.body", "body": b" world"})

    async def dispatch(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.append("X-B", "2")
        return response

    def messages(module: Any) -> Messages:
        return asgi(module.BaseHTTPMiddleware(app, dispatch=dispatch))

    ours = messages(TACHYON_BASE)
    assert ours == messages(STARLETTE_BASE)
    assert ours[0]["type"] == "http.response.early_hint"
    assert ours[1] == {"type": "http.response.debug", "info": {"template": "x"}}


def test_pathsend_passes_through() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": "/tmp/x"})

    async def dispatch(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    def messages(module: Any) -> Messages:
        return asgi(module.BaseHTTPMiddleware(app, dispatch=dispatch))

    assert messages(TACHYON_BASE) == messages(STARLETTE_BASE)


def test_streamed_request_body_reaches_app() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        received = []
        while True:
            message = await receive()
            received.append(message)
            if not message.get("more_body"):
                break
        body = repr(received).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    async def dispatch(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    def messages(module: Any) -> Messages:
        return asgi(module.BaseHTTPMiddleware(app, dispatch=dispatch), method="POST", body_chunks=[b"a", b"b", b""])

    assert messages(TACHYON_BASE) == messages(STARLETTE_BASE)


def test_client_disconnect_becomes_disconnect_message() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": message["type"].encode()})

    async def dispatch(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    def run(module: Any) -> Messages:
        async def main() -> Messages:
            sent: Messages = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                sent.append(dict(message))

            scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
            await module.BaseHTTPMiddleware(app, dispatch=dispatch)(scope, receive, send)
            return sent

        return anyio.run(main)

    ours = run(TACHYON_BASE)
    assert ours == run(STARLETTE_BASE)
    assert b"".join(message.get("body", b"") for message in ours) == b"http.disconnect"


def test_websocket_scope_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    async def main() -> None:
        await TACHYON_BASE.BaseHTTPMiddleware(app)({"type": "websocket"}, None, None)  # type: ignore[arg-type]

    anyio.run(main)
    assert seen == ["websocket"]


def test_dispatch_argument_and_names() -> None:
    assert TACHYON_BASE.RequestResponseEndpoint is not None
    assert TACHYON_BASE.DispatchFunction is not None

    async def dispatch(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    middleware = TACHYON_BASE.BaseHTTPMiddleware(silent_asgi, dispatch=dispatch)
    assert middleware.dispatch_func is dispatch


def test_stacked_middleware_all_read_the_body(both: Any) -> None:
    def build_stacked(fw: SimpleNamespace) -> Any:
        class ReadBody(base(fw).BaseHTTPMiddleware):
            async def dispatch(self, request: Any, call_next: Any) -> Any:
                body = await request.body()
                response = await call_next(request)
                response.headers.append("X-Body", body.decode())
                return response

        async def echo(request: Any) -> Any:
            return fw.responses.PlainTextResponse((await request.body()).decode())

        Middleware = fw.middleware.Middleware
        return fw.applications.Starlette(
            routes=[fw.routing.Route("/", echo, methods=["POST"])],
            middleware=[Middleware(ReadBody), Middleware(ReadBody)],
        )

    assert both(build_stacked)("POST", "/", content=b"payload").text == "payload"


def test_app_waiting_after_response_gets_disconnect() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done", "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        # Starlette's StreamingResponse listens for a disconnect like this; it must not hang.
        message = await receive()
        assert message == {"type": "http.disconnect"}

    async def dispatch(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    def messages(module: Any) -> Messages:
        return asgi(module.BaseHTTPMiddleware(app, dispatch=dispatch))

    assert messages(TACHYON_BASE) == messages(STARLETTE_BASE)


def test_client_disconnect_while_dispatch_reads_body() -> None:
    def run(module: Any) -> str:
        async def dispatch(request: Any, call_next: Any) -> Any:
            await request.body()
            raise AssertionError("not reached")  # pragma: no cover

        async def main() -> str:
            async def receive() -> dict[str, Any]:
                return {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:  # pragma: no cover
                pass

            scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
            try:
                await module.BaseHTTPMiddleware(silent_asgi, dispatch=dispatch)(scope, receive, send)
            except Exception as exc:
                return type(exc).__name__
            return "no error"  # pragma: no cover

        return anyio.run(main)

    assert run(TACHYON_BASE) == run(STARLETTE_BASE) == "ClientDisconnect"
