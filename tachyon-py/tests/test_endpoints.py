"""HTTPEndpoint and WebSocketEndpoint on Starlette and on Tachyon: the same behaviour."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import STARLETTE, TACHYON, raw_response


def endpoints(fw: SimpleNamespace) -> Any:
    return importlib.import_module(f"{fw.name}.endpoints")


def http_endpoint_class(fw: SimpleNamespace) -> Any:
    PlainTextResponse = fw.responses.PlainTextResponse

    class Items(endpoints(fw).HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse(f"get {request.path_params.get('id')}")

        def post(self, request: Any) -> Any:  # sync handlers run in the threadpool
            return PlainTextResponse("post", status_code=201)

        async def delete(self, request: Any) -> Any:
            return PlainTextResponse("", status_code=204)

    return Items


def http_app(fw: SimpleNamespace) -> Any:
    class HeadOnly(endpoints(fw).HTTPEndpoint):
        async def head(self, request: Any) -> Any:
            return fw.responses.Response(headers={"X-Head": "1"})

    return fw.applications.Starlette(
        routes=[
            fw.routing.Route("/items", http_endpoint_class(fw)),
            fw.routing.Route("/items/{id:int}", http_endpoint_class(fw)),
            fw.routing.Route("/head", HeadOnly),
        ]
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/items"),
        ("GET", "/items/3"),
        ("HEAD", "/items"),
        ("POST", "/items"),
        ("DELETE", "/items/3"),
        ("PUT", "/items"),
        ("PATCH", "/items/3"),
        ("OPTIONS", "/items"),
        ("HEAD", "/head"),
        ("GET", "/head"),
    ],
)
def test_http_endpoint_in_an_app(both: Callable[..., Any], method: str, url: str) -> None:
    both(http_app)(method, url)


def test_http_endpoint_405_lists_allowed_methods_in_order(both: Callable[..., Any]) -> None:
    response = both(http_app)("PUT", "/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST, DELETE"


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "QUERY"])
def test_http_endpoint_as_a_bare_asgi_app(method: str) -> None:
    # Without "app" in the scope the 405 is answered directly, not raised.
    theirs, ours = (
        fw.testclient.TestClient(http_endpoint_class(fw)).request(method, "/") for fw in (STARLETTE, TACHYON)
    )
    assert raw_response(ours) == raw_response(theirs)


def test_http_endpoint_rejects_websocket_scope() -> None:
    from tachyon.endpoints import HTTPEndpoint

    with pytest.raises(AssertionError):
        HTTPEndpoint({"type": "websocket"}, None, None)  # type: ignore[arg-type]


def run_ws_endpoint(fw: SimpleNamespace, encoding: str | None, script: Callable[[Any], Any]) -> Any:
    log: list[Any] = []

    class Echo(endpoints(fw).WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            log.append(("connect", websocket.path_params))
            await websocket.accept()

        async def on_receive(self, websocket: Any, data: Any) -> None:
            log.append(("receive", data))
            if isinstance(data, bytes):
                await websocket.send_bytes(data)
            elif isinstance(data, str):
                await websocket.send_text(data)
            else:
                await websocket.send_json({"echo": data})

        async def on_disconnect(self, websocket: Any, close_code: int) -> None:
            log.append(("disconnect", close_code))

    Echo.encoding = encoding  # type: ignore[assignment]
    app = fw.applications.Starlette(routes=[fw.routing.WebSocketRoute("/ws/{name}", Echo)])
    client = fw.testclient.TestClient(app)
    try:
        with client.websocket_connect("/ws/joe") as session:
            outcome: Any = ("returned", script(session))
    except Exception as exc:
        outcome = ("raised", type(exc).__name__, str(exc), getattr(exc, "code", None))
    return log, outcome


def both_ws(encoding: str | None, script: Callable[[Any], Any]) -> Any:
    theirs = run_ws_endpoint(STARLETTE, encoding, script)
    ours = run_ws_endpoint(TACHYON, encoding, script)
    assert ours == theirs
    return ours


def test_websocket_endpoint_json() -> None:
    def script(session: Any) -> Any:
        session.send_json({"a": 1})
        first = session.receive_json()
        session.send_json([1, "é"], mode="binary")
        second = session.receive_json()
        session.close(4001)
        return first, second

    log, outcome = both_ws("json", script)
    assert outcome == ("returned", ({"echo": {"a": 1}}, {"echo": [1, "é"]}))
    assert log == [("connect", {"name": "joe"}), ("receive", {"a": 1}), ("receive", [1, "é"]), ("disconnect", 4001)]


def test_websocket_endpoint_malformed_json_closes_1003() -> None:
    def script(session: Any) -> Any:
        session.send_text("{not json")
        return session.receive_text()

    log, outcome = both_ws("json", script)
    assert outcome == ("raised", "RuntimeError", "Malformed JSON data received.", None)
    assert log[-1] == ("disconnect", 1011)


@pytest.mark.parametrize(
    ("encoding", "send", "expected"),
    [
        ("text", ("send_text", "hi"), "hi"),
        ("bytes", ("send_bytes", b"hi"), b"hi"),
        (None, ("send_text", "t"), "t"),
        (None, ("send_bytes", b"b"), b"b"),
    ],
)
def test_websocket_endpoint_encodings(encoding: str | None, send: tuple[str, Any], expected: Any) -> None:
    def script(session: Any) -> Any:
        getattr(session, send[0])(send[1])
        received = session.receive_bytes() if isinstance(expected, bytes) else session.receive_text()
        session.close()
        return received

    log, outcome = both_ws(encoding, script)
    assert outcome == ("returned", expected)
    assert log[-1] == ("disconnect", 1000)


@pytest.mark.parametrize(("encoding", "send"), [("text", ("send_bytes", b"x")), ("bytes", ("send_text", "x"))])
def test_websocket_endpoint_wrong_kind_closes_1003(encoding: str, send: tuple[str, Any]) -> None:
    def script(session: Any) -> Any:
        getattr(session, send[0])(send[1])
        return session.receive_text()

    log, outcome = both_ws(encoding, script)
    assert outcome[:2] == ("raised", "RuntimeError")
    assert log[-1] == ("disconnect", 1011)


def test_websocket_endpoint_default_hooks() -> None:
    def run(fw: SimpleNamespace) -> Any:
        app = fw.applications.Starlette(routes=[fw.routing.WebSocketRoute("/ws", endpoints(fw).WebSocketEndpoint)])
        with fw.testclient.TestClient(app).websocket_connect("/ws") as session:
            session.send_text("ignored")
            return session.accepted_subprotocol

    assert run(TACHYON) == run(STARLETTE) is None


def test_websocket_endpoint_unsupported_encoding() -> None:
    def script(session: Any) -> Any:
        session.send_text("x")
        return session.receive_text()

    _, outcome = both_ws("xml", script)
    assert outcome == ("raised", "AssertionError", "Unsupported 'encoding' attribute xml", None)
