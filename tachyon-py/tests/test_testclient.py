"""TestClient: Starlette's client and Tachyon's give an app the same scope and the same results."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from conftest import STARLETTE, TACHYON, raw_response

from tachyon.testclient import TestClient

CLIENTS = [STARLETTE.testclient.TestClient, TACHYON.testclient.TestClient]


def differential(app: Callable[..., Any], action: Callable[[Any], Any], **client_kwargs: Any) -> Any:
    """Run `action(client)` with each framework's client on the same raw ASGI app; compare results."""
    results = []
    for client_class in CLIENTS:
        try:
            results.append(("returned", action(client_class(app, **client_kwargs))))
        except Exception as exc:
            results.append(("raised", type(exc).__name__, str(exc)))
    theirs, ours = results
    assert ours == theirs
    return ours


def stream_chunks(count: int, *, endless: bool = False, log: list[str] | None = None) -> Any:
    """A raw ASGI app streaming `count` chunks (or forever), logging how it ended."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        try:
            for index in itertools.count() if endless else range(count):
                await send({"type": "http.response.body", "body": b"chunk%d," % index, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except BaseException as exc:
            if log is not None:
                log.append(type(exc).__name__)
            raise
        if log is not None:
            log.append("finished")

    return app


def test_streamed_response_read_whole() -> None:
    result = differential(stream_chunks(5), lambda client: raw_response(client.get("/")))
    assert result[1][2] == b"chunk0,chunk1,chunk2,chunk3,chunk4,"


def test_stream_reads_an_endless_body_lazily() -> None:
    def action(client: Any) -> Any:
        with client.stream("GET", "/") as response:
            chunks = response.iter_bytes()
            return response.status_code, next(chunks), next(chunks)

    assert differential(stream_chunks(0, endless=True), action) == ("returned", (200, b"chunk0,", b"chunk1,"))


def test_closing_a_stream_early_cancels_the_app() -> None:
    log: list[str] = []
    with TestClient(stream_chunks(0, endless=True, log=log)).stream("GET", "/") as response:
        next(response.iter_bytes())
    assert log == ["CancelledError"]


def test_stream_inside_client_context_and_transport_close() -> None:
    log: list[str] = []
    app = stream_chunks(0, endless=True, log=log)

    async def with_lifespan(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await app(scope, receive, send)

    with TestClient(with_lifespan) as client:
        response = client.send(client.build_request("GET", "/"), stream=True)
        assert next(response.iter_bytes()) == b"chunk0,"
        # Left open on purpose: leaving the client aborts it.
    assert log == ["CancelledError"]


def test_iter_lines_from_stream() -> None:
    def action(client: Any) -> Any:
        with client.stream("GET", "/") as response:
            return list(response.iter_text())

    differential(stream_chunks(3), action)


def test_head_body_is_dropped() -> None:
    differential(stream_chunks(2), lambda client: raw_response(client.head("/")))


def test_http_scope_matches() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})
        seen.append(await receive())

    def action(client: Any) -> Any:
        seen.clear()
        client.post("/a%2Fb/c d?x=1&y=%20#frag", content=b"payload", headers={"X-A": "1"}, cookies=None)
        client.get("https://example.org:8443/")
        return list(seen)

    differential(app, action, root_path="/root", client=("1.2.3.4", 99))


def test_app_error_after_response_is_raised_or_swallowed() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        raise ValueError("after")

    assert differential(app, lambda client: client.get("/").text) == ("raised", "ValueError", "after")
    assert differential(app, lambda client: raw_response(client.get("/")), raise_server_exceptions=False) == (
        "returned",
        (200, [], b"ok"),
    )


def test_app_error_before_response() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("before")

    assert differential(app, lambda client: client.get("/")) == ("raised", "KeyError", "'before'")
    assert differential(app, lambda client: raw_response(client.get("/")), raise_server_exceptions=False) == (
        "returned",
        (500, [], b""),
    )


def test_no_response_at_all() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    assert differential(app, lambda client: client.get("/")) == (
        "raised",
        "AssertionError",
        "TestClient did not receive any response.",
    )


@pytest.mark.parametrize(
    "messages",
    [
        [{"type": "http.response.body", "body": b"x"}],
        [{"type": "http.response.start", "status": 200}, {"type": "http.response.start", "status": 200}],
        [
            {"type": "http.response.start", "status": 200},
            {"type": "http.response.body", "body": b"x"},
            {"type": "http.response.body", "body": b"x"},
        ],
        [
            {"type": "http.response.start", "status": 200},
            {"type": "http.response.body"},
            {"type": "http.response.trailers", "headers": []},
        ],
    ],
)
def test_protocol_errors_match(messages: list[Any]) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        for message in messages:
            await send(message)

    differential(app, lambda client: raw_response(client.get("/")))


def test_trailers_and_debug_extension() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.debug", "info": {"template": "t.html", "context": {"a": 1}}})
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await send({"type": "http.response.body", "body": b"b"})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"1")], "more_trailers": True})
        await send({"type": "http.response.trailers", "headers": [(b"x-more", b"2")]})

    def action(client: Any) -> Any:
        response = client.get("/")
        return raw_response(response), response.extensions.get("http.response.trailers"), response.template

    result = differential(app, action)
    assert result[1][1] == [(b"x-checksum", b"1"), (b"x-more", b"2")]


def test_websocket_connect_without_and_with_client_context() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": message["text"] + "!"})
        await send({"type": "websocket.close", "code": 1000})

    def action(client: Any) -> Any:
        with client.websocket_connect("/ws") as session:
            session.send_text("a")
            first = session.receive_text()
        with client, client.websocket_connect("ws://testserver/ws") as session:
            session.send_text("b")
            return first, session.receive_text()

    assert differential(app, action) == ("returned", ("a!", "b!"))


def test_websocket_connect_sets_handshake_headers_in_callers_dict() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})

    def action(client: Any) -> Any:
        headers = {"x-mine": "1"}
        with client.websocket_connect("/", subprotocols=["a", "b"], headers=headers):
            pass
        return headers

    assert differential(app, action)[1]["sec-websocket-protocol"] == "a, b"


def test_client_app_can_be_asgi2() -> None:
    class ASGI2:
        def __init__(self, scope: Any) -> None:
            self.scope = scope

        async def __call__(self, receive: Any, send: Any) -> None:
            await anyio.sleep(0)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": self.scope["path"].encode()})

    assert differential(ASGI2, lambda client: client.get("/p").content) == ("returned", b"/p")


def test_disconnect_is_seen_once_the_response_is_complete() -> None:
    # Regression (Starlette's tests/test_requests.py::test_request_is_disconnected): after the
    # response, receive() must answer http.disconnect without a checkpoint, or
    # Request.is_disconnected() (which receives in a cancelled scope) reports False.
    seen: list[tuple[bool, bool]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        request = TACHYON.requests.Request(scope, receive)
        await request.body()
        before = await request.is_disconnected()
        await TACHYON.responses.PlainTextResponse("ok")(scope, receive, send)
        seen.append((before, await request.is_disconnected()))

    assert differential(app, lambda client: client.post("/", content="foo").text) == ("returned", "ok")
    assert seen == [(False, True), (False, True)]


def test_module_exports_starlettes_type_aliases() -> None:
    # Starlette's own tests do `from starlette.testclient import ASGIInstance, TestClient`.
    from tachyon.testclient import ASGI2App, ASGI3App, ASGIInstance

    for name in ("ASGIInstance", "ASGI2App", "ASGI3App"):
        assert hasattr(STARLETTE.testclient, name)
    assert (ASGIInstance, ASGI2App, ASGI3App) == (
        TACHYON.testclient.ASGIInstance,
        TACHYON.testclient.ASGI2App,
        TACHYON.testclient.ASGI3App,
    )


def test_timeout_argument_warns_like_starlette() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await TACHYON.responses.PlainTextResponse("ok")(scope, receive, send)

    messages = []
    for framework in (STARLETTE, TACHYON):
        with pytest.warns(framework.exceptions.StarletteDeprecationWarning) as record:
            assert framework.testclient.TestClient(app).get("/", timeout=1).text == "ok"
        messages.append([str(warning.message) for warning in record])
    assert messages[1] == messages[0]
