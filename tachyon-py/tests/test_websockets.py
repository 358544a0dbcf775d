"""WebSockets on Starlette and on Tachyon: the same sessions, the same messages on both sides."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from conftest import STARLETTE, TACHYON

from tachyon.websockets import (
    WebSocket,
    WebSocketClose,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
)

Build = Callable[[SimpleNamespace, list[Any]], Any]
Script = Callable[[Any], Any]


def describe(exc: BaseException) -> tuple[Any, ...]:
    """What a test can compare about an exception raised on either framework."""
    described: tuple[Any, ...] = (type(exc).__name__, str(exc))
    if hasattr(exc, "status_code"):  # a denial response
        described += (exc.status_code, list(exc.headers.raw), exc.content)
    elif hasattr(exc, "code"):
        described += (exc.code, exc.reason)
    return described


def run_session(fw: SimpleNamespace, build: Build, script: Script, url: str, **kwargs: Any) -> Any:
    """Run `script(session)` against the app built on `fw`.

    Returns what the app sent (its raw ASGI messages), what the app logged, and what the
    script returned or raised.
    """
    log: list[Any] = []
    app = build(fw, log)
    sent: list[Any] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def send_and_record(message: Any) -> None:
            sent.append(message)
            await send(message)

        await app(scope, receive, send_and_record)

    client = fw.testclient.TestClient(recording)
    try:
        with client.websocket_connect(url, **kwargs) as session:
            outcome: Any = ("returned", script(session))
    except Exception as exc:
        outcome = ("raised", describe(exc))
    return sent, log, outcome


def both_sessions(build: Build, script: Script, url: str = "/ws", **kwargs: Any) -> Any:
    """Run the same session on both frameworks and assert both sides saw the same things."""
    theirs = run_session(STARLETTE, build, script, url, **kwargs)
    ours = run_session(TACHYON, build, script, url, **kwargs)
    assert ours == theirs
    return ours


def single_route(handler: Callable[[SimpleNamespace, list[Any]], Any], path: str = "/ws") -> Build:
    """An app with one WebSocketRoute whose endpoint is `handler(fw, log)`."""

    def build(fw: SimpleNamespace, log: list[Any]) -> Any:
        return fw.applications.Starlette(routes=[fw.routing.WebSocketRoute(path, handler(fw, log))])

    return build


def test_echo_text_bytes_json() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            await websocket.send_text((await websocket.receive_text()).upper())
            await websocket.send_bytes((await websocket.receive_bytes())[::-1])
            await websocket.send_json({"got": await websocket.receive_json()})
            await websocket.send_json(await websocket.receive_json(mode="binary"), mode="binary")
            log.append([message async for message in websocket.iter_text()])

        return endpoint

    def script(session: Any) -> Any:
        session.send_text("héllo")
        session.send_bytes(b"\x00\x01\x02")
        session.send_json({"a": [1, 2.5, None, "é"]})
        session.send_json({"b": True}, mode="binary")
        received = [
            session.receive_text(),
            session.receive_bytes(),
            session.receive_json(),
            session.receive_json(mode="binary"),
        ]
        session.send_text("one")
        session.send_text("two")
        session.close(4000, "done")
        return received

    sent, log, outcome = both_sessions(single_route(handler), script)
    assert outcome == ("returned", ["HÉLLO", b"\x02\x01\x00", {"got": {"a": [1, 2.5, None, "é"]}}, {"b": True}])
    assert log == [["one", "two"]]


def test_iter_bytes_and_iter_json() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            log.append([await websocket.receive_bytes()])
            log.append([item async for item in websocket.iter_json()])

        return endpoint

    def script(session: Any) -> None:
        session.send_bytes(b"x")
        session.send_json([1])
        session.send_json({"k": "v"})
        session.close()

    _, log, _ = both_sessions(single_route(handler), script)
    assert log == [[b"x"], [[1], {"k": "v"}]]


def test_subprotocol_and_accept_headers() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            offered = websocket.scope["subprotocols"]
            log.append(offered)
            await websocket.accept(subprotocol=offered[-1], headers=[(b"x-extra", b"1")])
            await websocket.close()

        return endpoint

    def script(session: Any) -> Any:
        return session.accepted_subprotocol, session.extra_headers

    _, log, outcome = both_sessions(single_route(handler), script, subprotocols=["chat", "superchat"])
    assert log == [["chat", "superchat"]]
    assert outcome == ("returned", ("superchat", [(b"x-extra", b"1")]))


def test_no_subprotocol_offered() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            log.append(websocket.scope["subprotocols"])
            await websocket.accept()

        return endpoint

    _, log, outcome = both_sessions(single_route(handler), lambda session: session.accepted_subprotocol)
    assert log == [[]]
    assert outcome == ("returned", None)


@pytest.mark.parametrize(("code", "reason"), [(1000, None), (1001, "going"), (4321, "custom reason é")])
def test_app_closes_with_code_and_reason(code: int, reason: str | None) -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            await websocket.close(code, reason)

        return endpoint

    _, _, outcome = both_sessions(single_route(handler), lambda session: session.receive_text())
    assert outcome == ("raised", ("WebSocketDisconnect", "", code, reason or ""))


def test_close_before_accept_rejects_the_handshake() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.close(code=1008, reason="policy")

        return endpoint

    sent, _, outcome = both_sessions(single_route(handler), lambda session: "connected")
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "policy"}]
    assert outcome == ("raised", ("WebSocketDisconnect", "", 1008, "policy"))


def test_client_disconnect_reaches_the_app() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            try:
                await websocket.receive_text()
            except fw.websockets.WebSocketDisconnect as exc:
                log.append((exc.code, exc.reason, websocket.client_state.name, websocket.application_state.name))
            try:
                await websocket.receive()
            except RuntimeError as exc:
                log.append((type(exc).__name__, str(exc)))

        return endpoint

    def script(session: Any) -> None:
        session.close(4002, "bye")

    _, log, _ = both_sessions(with_websockets(single_route(handler)), script)
    assert log == [
        (4002, "bye", "DISCONNECTED", "CONNECTED"),
        ("WebSocketDisconnected", 'Cannot call "receive" once a disconnect message has been received.'),
    ]


def with_websockets(build: Build) -> Build:
    """The builder itself: conftest's namespace now carries `fw.websockets`."""
    return build


def test_denial_response() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            response = fw.responses.PlainTextResponse("denied", status_code=403, headers={"X-Why": "nope"})
            await websocket.send_denial_response(response)
            log.append(websocket.application_state.name)

        return endpoint

    sent, log, outcome = both_sessions(single_route(handler), lambda session: "connected")
    assert [message["type"] for message in sent] == ["websocket.http.response.start", "websocket.http.response.body"]
    assert log == ["DISCONNECTED"]
    assert outcome[1][2] == 403
    assert outcome[1][4] == b"denied"


def test_denial_response_is_an_httpx_response_and_a_disconnect() -> None:
    from tachyon.responses import PlainTextResponse
    from tachyon.routing import WebSocketRoute
    from tachyon.testclient import TestClient, WebSocketDenialResponse

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("no", status_code=401))

    client = TestClient(TACHYON.applications.Starlette(routes=[WebSocketRoute("/ws", endpoint)]))
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
        pass  # pragma: no cover
    assert isinstance(info.value, WebSocketDenialResponse)
    assert info.value.status_code == 401
    assert info.value.text == "no"


def test_route_path_params_query_and_scope() -> None:
    def build(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            scope = websocket.scope
            log.append({key: scope[key] for key in SCOPE_KEYS})
            await websocket.send_json(
                {
                    "params": websocket.path_params,
                    "url": str(websocket.url),
                    "query": list(websocket.query_params.multi_items()),
                    "url_for": str(websocket.url_for("room", room="r 1", n=3)),
                    "cookies": websocket.cookies,
                    "header": websocket.headers.get("x-token"),
                }
            )
            await websocket.close()

        return fw.applications.Starlette(
            routes=[fw.routing.WebSocketRoute("/rooms/{room}/{n:int}", endpoint, name="room")]
        )

    _, log, outcome = both_sessions(
        build,
        lambda session: session.receive_json(),
        url="/rooms/caf%C3%A9/7?a=1&a=2&b=%20",
        headers={"X-Token": "t", "Cookie": "c=1"},
    )
    assert outcome[1]["params"] == {"room": "café", "n": 7}
    assert outcome[1]["url"] == "ws://testserver/rooms/café/7?a=1&a=2&b=%20"
    assert log[0]["type"] == "websocket"
    assert log[0]["extensions"] == {"websocket.http.response": {}}


SCOPE_KEYS = (
    "type",
    "path",
    "raw_path",
    "root_path",
    "scheme",
    "query_string",
    "headers",
    "client",
    "server",
    "subprotocols",
    "extensions",
    "path_params",
)


def test_wss_scheme_and_absolute_url() -> None:
    def build(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            log.append({key: scope[key] for key in SCOPE_KEYS if key != "path_params"})
            await send({"type": "websocket.close", "code": 1000, "reason": ""})

        return app

    _, log, _ = both_sessions(build, lambda session: None, url="wss://example.org:8443/x%2Fy?q")
    assert log[0]["scheme"] == "wss"
    assert log[0]["server"] == ["example.org", 8443]


def test_unknown_path_is_closed() -> None:
    def build(fw: SimpleNamespace, log: list[Any]) -> Any:
        return fw.applications.Starlette(routes=[fw.routing.Route("/ws", lambda request: None)])

    sent, _, outcome = both_sessions(build, lambda session: "connected", url="/missing")
    assert sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]
    assert outcome == ("raised", ("WebSocketDisconnect", "", 1000, ""))


def test_websocket_exception_closes_with_its_code() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            raise fw.exceptions.WebSocketException(code=1008, reason="not allowed")

        return endpoint

    _, _, outcome = both_sessions(single_route(handler), lambda session: session.receive_text())
    assert outcome == ("raised", ("WebSocketDisconnect", "", 1008, "not allowed"))


def test_app_error_propagates_out_of_the_session() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            await websocket.receive_text()
            raise ValueError("boom")

        return endpoint

    def script(session: Any) -> None:
        session.send_text("go")

    _, _, outcome = both_sessions(single_route(handler), script)
    assert outcome == ("raised", ("ValueError", "boom"))


STATE_ERRORS: dict[str, Callable[[Any], Any]] = {
    "receive_text_before_accept": lambda ws: ws.receive_text(),
    "receive_bytes_before_accept": lambda ws: ws.receive_bytes(),
    "receive_json_before_accept": lambda ws: ws.receive_json(),
    "send_before_accept": lambda ws: ws.send_text("x"),
    "bad_json_mode": lambda ws: ws.receive_json(mode="xml"),
    "bad_send_json_mode": lambda ws: ws.send_json({}, mode="xml"),
    "bad_connect_message": lambda ws: ws.send({"type": "websocket.http.response.body"}),
}


@pytest.mark.parametrize("action", STATE_ERRORS)
def test_state_machine_errors_match(action: str) -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            try:
                await STATE_ERRORS[action](websocket)
            except Exception as exc:
                log.append((type(exc).__name__, str(exc)))
            await websocket.close()

        return endpoint

    _, log, _ = both_sessions(single_route(handler), lambda session: None)
    assert len(log) == 1


AFTER_ACCEPT_ERRORS: dict[str, Callable[[Any], Any]] = {
    "send_wrong_type": lambda ws: ws.send({"type": "websocket.accept"}),
    "send_after_close": lambda ws: ws.close(),
    "denial_after_accept": lambda ws: ws.send({"type": "websocket.http.response.start"}),
}


@pytest.mark.parametrize("action", AFTER_ACCEPT_ERRORS)
def test_errors_after_accept_match(action: str) -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            if action == "send_after_close":
                await websocket.close()
            try:
                await AFTER_ACCEPT_ERRORS[action](websocket)
            except Exception as exc:
                log.append((type(exc).__name__, str(exc)))

        return endpoint

    _, log, _ = both_sessions(single_route(handler), lambda session: None)
    assert len(log) == 1


def test_unexpected_client_message_type_after_accept() -> None:
    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            try:
                await websocket.receive()
            except RuntimeError as exc:
                log.append(str(exc))

        return endpoint

    def script(session: Any) -> None:
        session.send({"type": "websocket.bogus"})

    _, log, _ = both_sessions(single_route(handler), script)
    assert log == ['Expected ASGI message "websocket.receive" or "websocket.disconnect", but got \'websocket.bogus\'']


def test_first_message_must_be_connect() -> None:
    async def receive() -> Any:
        return {"type": "websocket.receive", "text": "early"}

    async def main() -> None:
        websocket = WebSocket({"type": "websocket", "headers": [], "path": "/"}, receive, receive)
        with pytest.raises(RuntimeError, match="but got .websocket.receive."):
            await websocket.accept()

    anyio.run(main)


def test_send_denial_response_needs_the_extension() -> None:
    messages: list[Any] = []

    async def receive() -> Any:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        messages.append(message)

    from tachyon.responses import PlainTextResponse

    websocket = WebSocket({"type": "websocket", "headers": [], "path": "/"}, receive, send)
    with pytest.raises(RuntimeError, match="doesn't support the Websocket Denial Response extension"):
        anyio.run(websocket.send_denial_response, PlainTextResponse("x"))
    assert messages == []


def test_send_oserror_becomes_abnormal_disconnect() -> None:
    async def receive() -> Any:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        if message["type"] == "websocket.send":
            raise OSError("gone")

    async def main() -> None:
        websocket = WebSocket({"type": "websocket", "headers": [], "path": "/"}, receive, send)
        await websocket.accept()
        with pytest.raises(WebSocketDisconnect) as info:
            await websocket.send_text("x")
        assert info.value.code == 1006
        assert websocket.application_state is WebSocketState.DISCONNECTED
        with pytest.raises(WebSocketDisconnected, match='Cannot call "send" once a close message has been sent.'):
            await websocket.send_text("x")

    anyio.run(main)


def test_websocket_close_app_and_exception_defaults() -> None:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    anyio.run(WebSocketClose(4000, None), {"type": "websocket"}, None, send)
    anyio.run(WebSocketClose(), {"type": "websocket"}, None, send)
    assert sent == [
        {"type": "websocket.close", "code": 4000, "reason": ""},
        {"type": "websocket.close", "code": 1000, "reason": ""},
    ]
    disconnect = WebSocketDisconnect()
    assert (disconnect.code, disconnect.reason) == (1000, "")
    assert issubclass(WebSocketDisconnected, RuntimeError)
    assert [state.value for state in WebSocketState] == [0, 1, 2, 3]


def test_websocket_close_as_route_differential() -> None:
    def build(fw: SimpleNamespace, log: list[Any]) -> Any:
        ws_module = __import__(f"{fw.name}.websockets", fromlist=["WebSocketClose"])
        return fw.applications.Starlette(routes=[fw.routing.WebSocketRoute("/ws", ws_module.WebSocketClose(4001, "x"))])

    _, _, outcome = both_sessions(build, lambda session: None)
    assert outcome == ("raised", ("WebSocketDisconnect", "", 4001, "x"))


def mounted_app(fw: SimpleNamespace, log: list[Any]) -> Any:
    async def endpoint(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_json(
            {
                "params": websocket.path_params,
                "root_path": websocket.scope.get("root_path"),
                "path": websocket.url.path,
                "url_for": str(websocket.url_for("inner", x="1")),
                "base_url": str(websocket.base_url),
            }
        )
        await websocket.close()

    async def on_key_error(websocket: Any, exc: Exception) -> None:
        await websocket.close(code=4444, reason=str(exc))

    async def boom(websocket: Any) -> None:
        raise KeyError("k")

    WebSocketRoute = fw.routing.WebSocketRoute
    return fw.applications.Starlette(
        routes=[
            fw.routing.Mount(
                "/m", routes=[WebSocketRoute("/w/{x}", endpoint, name="inner"), WebSocketRoute("/boom", boom)]
            ),
            fw.routing.Host("h.example", app=fw.routing.Router(routes=[WebSocketRoute("/hw", endpoint)])),
        ],
        exception_handlers={KeyError: on_key_error},
    )


@pytest.mark.parametrize("url", ["/m/w/5", "/m/boom", "/m/nothing", "ws://h.example/hw", "/m/w/", "/m"])
def test_mount_host_and_exception_handlers(url: str) -> None:
    both_sessions(mounted_app, lambda session: session.receive_json(), url=url)


def test_websocket_is_subscriptable_like_starlettes() -> None:
    from tachyon.datastructures import State

    assert WebSocket[State] is not None


def test_bad_json_frame_closes_with_1007() -> None:
    # Starlette lets the JSONDecodeError escape (the connection drops with no close code);
    # Tachyon's is also a WebSocketException(1007), so the client learns why.
    caught: list[Any] = []

    def handler(fw: SimpleNamespace, log: list[Any]) -> Any:
        async def endpoint(websocket: Any) -> None:
            await websocket.accept()
            try:
                await websocket.receive_json()
            except ValueError as exc:  # code written for Starlette catches it as before
                caught.append(exc)
            await websocket.receive_json()

        return endpoint

    def script(session: Any) -> Any:
        session.send_text("{nope")
        session.send_text("[1,")
        return session.receive_text()

    _, _, outcome = run_session(TACHYON, single_route(handler), script, "/ws")
    reason = "Invalid JSON: Expecting value: line 1 column 4 (char 3)"
    assert outcome == ("raised", ("WebSocketDisconnect", "", 1007, reason))
    import json

    from tachyon.exceptions import WebSocketException

    first = caught[0]
    assert isinstance(first, json.JSONDecodeError) and isinstance(first, WebSocketException)
    assert (first.msg, first.pos, first.code) == ("Expecting property name enclosed in double quotes", 1, 1007)
