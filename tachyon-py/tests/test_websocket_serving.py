"""WebSockets with a real client (the `websockets` library) against real servers on loopback.

Under uvicorn, Granian over ASGI, the native server (`--server native`), and the default
deployment (`python -m tachyon` on an app with WebSocket routes: the native server on Linux,
elsewhere Granian over ASGI, since RSGI cannot put a code in a close frame): text, bytes and a
1 MB frame echo back; close codes and reasons travel both ways; an uncaught WebSocketException
closes with its code and reason; a text frame that is not JSON, read with `receive_json()` and
not caught, closes with 1007 and a reason; the scope, the accepted subprotocol and headers, a
close before accepting (403), a denial response, an app that returns without closing. Hostile
clients: a message over 16 MiB (1009), a client that vanishes (the app gets
`websocket.disconnect` and its `finally` runs), 100 idle WebSockets while HTTP requests are
served. Where the servers differ, the expected values say so per server.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest
from _servers import Server, free_port, serving, tachyon_cli
from _servers import request as http_request

pytest.importorskip("granian")
pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

APP = textwrap.dedent(
    """
    from tachyon import JSONResponse, PlainTextResponse, Route, TachyonEngine, WebSocketRoute
    from tachyon.exceptions import WebSocketException

    LAST_CLOSE = {}
    VANISHED = {}


    async def echo(websocket):
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                LAST_CLOSE.update(code=message.get("code"), reason=message.get("reason") or "")
                return
            text = message.get("text")
            if text is not None and text.startswith("close:"):
                _, code, reason = text.split(":", 2)
                await websocket.close(code=int(code), reason=reason)
                return
            if text is not None:
                await websocket.send_text(text)
            else:
                await websocket.send_bytes(message["bytes"])


    async def json_echo(websocket):
        await websocket.accept()
        while True:
            await websocket.send_json(await websocket.receive_json())


    async def refuse(websocket):
        await websocket.accept()
        raise WebSocketException(code=1008, reason="policy says no")


    async def last_close(request):
        return JSONResponse(LAST_CLOSE)


    async def proto(websocket):
        offered = websocket.scope["subprotocols"]
        await websocket.accept(subprotocol=offered[0] if offered else None, headers=[(b"x-extra", b"yes")])
        scope = websocket.scope
        await websocket.send_json(
            {
                "type": scope["type"],
                "scheme": scope["scheme"],
                "path": scope["path"],
                "raw_path": scope["raw_path"].decode(),
                "query_string": scope["query_string"].decode(),
                "root_path": scope["root_path"],
                "subprotocols": offered,
                "http_version": scope["http_version"],
                "client_is_loopback": scope["client"][0] == "127.0.0.1",
                "header_names": sorted({name.decode() for name, _ in scope["headers"]} - {"sec-websocket-extensions"}),
            }
        )
        await websocket.close()


    async def deny(websocket):
        await websocket.close(code=1008)


    async def denial(websocket):
        await websocket.send_denial_response(PlainTextResponse("not you", status_code=401))


    async def leave(websocket):
        await websocket.accept()
        await websocket.send_text("bye")


    async def vanish(websocket):
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    VANISHED["code"] = message["code"]
                    return
                await websocket.send_text(message.get("text") or "")
        finally:
            VANISHED["finally"] = True


    async def vanished(request):
        return JSONResponse(VANISHED)


    app = TachyonEngine(
        routes=[
            WebSocketRoute("/echo", echo),
            WebSocketRoute("/json", json_echo),
            WebSocketRoute("/refuse", refuse),
            Route("/last-close", last_close),
            WebSocketRoute("/proto/{name}", proto),
            WebSocketRoute("/deny", deny),
            WebSocketRoute("/denial", denial),
            WebSocketRoute("/leave", leave),
            WebSocketRoute("/vanish", vanish),
            Route("/vanished", vanished),
        ]
    )
    """
)

# What the default deployment is, and so which server's behaviour it shows.
DEFAULT = "native" if sys.platform.startswith("linux") else "granian-asgi"
# (label, extra CLI arguments, what the banner names)
DEPLOYMENTS = [
    ("default", (), "(native" if DEFAULT == "native" else "(granian, ASGI"),
    ("granian-asgi", ("--server", "granian", "--interface", "asgi"), "(granian, ASGI"),
    ("uvicorn", ("--server", "uvicorn"), "(uvicorn, ASGI"),
    ("native", ("--server", "native"), "(native"),
]
TIMEOUT = 10
GRANIAN = ("granian-asgi",)
# What the client receives when the app returns without closing (None: no close frame).
# Granian sends a close frame without a code.
LEAVE_CLOSE = {"granian-asgi": (1005, ""), "uvicorn": None, "native": None}


@pytest.fixture(scope="module", params=DEPLOYMENTS, ids=[d[0] for d in DEPLOYMENTS])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    label, extra, banner = request.param
    app_dir = tmp_path_factory.mktemp(f"ws-{label}")
    (app_dir / "wsapp.py").write_text(APP)
    port = free_port()
    with serving(tachyon_cli("wsapp:app", app_dir, port, *extra), app_dir / "server.log", port) as running:
        assert banner in running.output()
        # The expectations are the served-by server's: the default deployment is one of them.
        running.label = DEFAULT if label == "default" else label  # type: ignore[attr-defined]
        yield running
    assert "Traceback" not in running.output(), running.output()


def connect(server: Server, path: str) -> websockets_sync.ClientConnection:
    return websockets_sync.connect(f"ws://127.0.0.1:{server.port}{path}", open_timeout=TIMEOUT, close_timeout=TIMEOUT)


def closed_by_server(ws: websockets_sync.ClientConnection) -> tuple[int, str]:
    """Wait for the server's close frame: its (code, reason)."""
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=TIMEOUT)
    received = info.value.rcvd
    assert received is not None, "closed without a close frame"
    return received.code, received.reason


def test_echo_text_bytes_and_a_large_frame(server: Server) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    with connect(server, "/echo") as ws:
        ws.send("héllo ☕")
        assert ws.recv(timeout=TIMEOUT) == "héllo ☕"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(timeout=TIMEOUT) == b"\x00\x01\xff"
        ws.send(big)
        assert ws.recv(timeout=TIMEOUT) == big
        ws.send("x" * 1_000_000)
        assert ws.recv(timeout=TIMEOUT) == "x" * 1_000_000


@pytest.mark.parametrize(("code", "reason"), [(1000, ""), (1000, "done"), (4001, "custom reason ☕")])
def test_server_close_code_and_reason_reach_the_client(server: Server, code: int, reason: str) -> None:
    with connect(server, "/echo") as ws:
        ws.send(f"close:{code}:{reason}")
        assert closed_by_server(ws) == (code, reason)


def test_client_close_code_and_reason_reach_the_app(server: Server) -> None:
    with connect(server, "/echo") as ws:
        ws.send("ping")
        assert ws.recv(timeout=TIMEOUT) == "ping"
        ws.close(code=4002, reason="client leaving")
    # The app records the disconnect message; poll briefly for it to land.
    for _ in range(100):
        status, _, body = http_request(server.port, "GET", "/last-close")
        if json.loads(body).get("code") == 4002:
            break
    # Granian 2.8.7's ASGI `websocket.disconnect` carries the code but not the reason
    # (src/asgi/conversion.rs builds it from the code alone); uvicorn and the native server
    # carry both.
    reason = "client leaving" if server.label in ("uvicorn", "native") else ""
    assert json.loads(body) == {"code": 4002, "reason": reason}


def test_uncaught_websocket_exception_closes_with_its_code(server: Server) -> None:
    with connect(server, "/refuse") as ws:
        assert closed_by_server(ws) == (1008, "policy says no")


def test_bad_json_frame_closes_with_1007(server: Server) -> None:
    with connect(server, "/json") as ws:
        ws.send('{"ok": [1, 2]}')
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"ok": [1, 2]}
        ws.send("{not json")
        code, reason = closed_by_server(ws)
    assert code == 1007
    assert reason.startswith("Invalid JSON: ")


def test_scope_subprotocol_and_accept_headers(server: Server) -> None:
    url = f"ws://127.0.0.1:{server.port}/proto/a%20b?a=1&b=%20"
    with websockets_sync.connect(
        url, subprotocols=["chat", "superchat"], open_timeout=TIMEOUT, close_timeout=TIMEOUT
    ) as ws:
        assert ws.subprotocol == "chat"
        # Granian 2.8.7 drops the headers of `websocket.accept`; uvicorn sends them.
        assert ws.response.headers.get("x-extra") == (None if server.label in GRANIAN else "yes")
        seen = json.loads(ws.recv(timeout=TIMEOUT))
        assert closed_by_server(ws) == (1000, "")
    assert seen == {
        "type": "websocket",
        "scheme": "ws",
        "path": "/proto/a b",
        "raw_path": "/proto/a%20b",
        "query_string": "a=1&b=%20",
        "root_path": "",
        "subprotocols": ["chat", "superchat"],
        "http_version": "1.1",
        "client_is_loopback": True,
        "header_names": [
            "connection",
            "host",
            "sec-websocket-key",
            "sec-websocket-protocol",
            "sec-websocket-version",
            "upgrade",
            "user-agent",
        ],
    }


def test_a_close_before_accept_is_a_403(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(server, "/deny")
    assert info.value.response.status_code == 403


def test_a_denial_response(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(server, "/denial")
    assert info.value.response.status_code == 401
    assert info.value.response.body == b"not you"


def test_an_app_that_returns_without_closing(server: Server) -> None:
    with connect(server, "/leave") as ws:
        assert ws.recv(timeout=TIMEOUT) == "bye"
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=TIMEOUT)
    # uvicorn closes the socket without a close frame; so does the native server.
    received = info.value.rcvd
    seen = (received.code, received.reason) if received is not None else None
    assert seen == LEAVE_CLOSE[server.label]


def test_an_oversized_message_closes_with_1009(server: Server) -> None:
    if server.label in GRANIAN:
        pytest.skip("Granian 2.8.7 closes a 16 MiB + 1 message with 1005, not 1009")
    # uvicorn's ws_max_size and the native server's default: 16 MiB.
    with connect(server, "/echo") as ws:
        ws.send(b"x" * (16 * 1024 * 1024 + 1))
        code, _ = closed_by_server(ws)
    assert code == 1009
    for _ in range(100):
        _, _, body = http_request(server.port, "GET", "/last-close")
        if json.loads(body).get("code") == 1009:
            break
    assert json.loads(body)["code"] == 1009


# The code of the `websocket.disconnect` an app gets when its client vanishes without a close
# frame: the native server says 1006 (abnormal closure, RFC 6455); uvicorn's sans-I/O protocol
# says 1005 once the handshake is done, Granian 1005 as well.
VANISH_CODE = {"granian-asgi": 1005, "uvicorn": 1005, "native": 1006}


def test_a_client_that_vanishes_ends_the_app_and_runs_its_finally(server: Server) -> None:
    with contextlib.ExitStack() as stack:
        ws = stack.enter_context(connect(server, "/vanish"))
        ws.send("hi")
        assert ws.recv(timeout=TIMEOUT) == "hi"
        ws.socket.shutdown(socket.SHUT_RDWR)
        ws.socket.close()
    for _ in range(200):
        _, _, body = http_request(server.port, "GET", "/vanished")
        seen = json.loads(body)
        if seen.get("finally"):
            break
        time.sleep(0.02)
    assert seen == {"code": VANISH_CODE[server.label], "finally": True}


def test_idle_websockets_do_not_stop_http_requests(server: Server) -> None:
    with contextlib.ExitStack() as stack:
        idle = [stack.enter_context(connect(server, "/echo")) for _ in range(100)]
        for _ in range(10):
            status, _, _ = http_request(server.port, "GET", "/last-close")
            assert status == 200
        idle[-1].send("still served")
        assert idle[-1].recv(timeout=TIMEOUT) == "still served"


FAILING_APP = textwrap.dedent(
    """
    async def app(scope, receive, send):
        if scope["type"] != "websocket":
            return
        assert (await receive())["type"] == "websocket.connect"
        if scope["path"] == "/boom":
            raise RuntimeError("boom before accept")
        # /silent: returns without answering the handshake.
    """
)


@pytest.mark.parametrize("label", ["uvicorn", "native"])
def test_an_app_that_fails_or_returns_before_accepting_is_a_500(
    label: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app_dir = tmp_path_factory.mktemp(f"ws-failing-{label}")
    (app_dir / "failing.py").write_text(FAILING_APP)
    port = free_port()
    with serving(tachyon_cli("failing:app", app_dir, port, "--server", label), app_dir / "server.log", port) as running:
        for path in ("/boom", "/silent"):
            with pytest.raises(InvalidStatus) as info:
                websockets_sync.connect(f"ws://127.0.0.1:{port}{path}", open_timeout=TIMEOUT)
            assert info.value.response.status_code == 500
        output = running.output()
    # Each logged as uvicorn logs it.
    assert "RuntimeError: boom before accept" in output
    assert "ASGI callable returned without completing handshake." in output
