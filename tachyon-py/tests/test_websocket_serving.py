"""WebSockets with a real client (the `websockets` library) against real servers on loopback.

Under uvicorn, Granian over ASGI, and the default deployment (`python -m tachyon` on an app
with WebSocket routes, which picks Granian over ASGI: RSGI cannot put a code in a close
frame): text, bytes and a 1 MB frame echo back; close codes and reasons travel both ways; an
uncaught WebSocketException closes with its code and reason; a text frame that is not JSON,
read with `receive_json()` and not caught, closes with 1007 and a reason.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator

import pytest
from _servers import Server, free_port, serving, tachyon_cli
from _servers import request as http_request

pytest.importorskip("granian")
pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed  # noqa: E402

APP = textwrap.dedent(
    """
    from tachyon import JSONResponse, Route, TachyonEngine, WebSocketRoute
    from tachyon.exceptions import WebSocketException

    LAST_CLOSE = {}


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


    app = TachyonEngine(
        routes=[
            WebSocketRoute("/echo", echo),
            WebSocketRoute("/json", json_echo),
            WebSocketRoute("/refuse", refuse),
            Route("/last-close", last_close),
        ]
    )
    """
)

# (label, extra CLI arguments, what the banner names)
DEPLOYMENTS = [
    ("default", (), "(granian, ASGI"),
    ("granian-asgi", ("--server", "granian", "--interface", "asgi"), "(granian, ASGI"),
    ("uvicorn", ("--server", "uvicorn"), "(uvicorn, ASGI"),
]
TIMEOUT = 10


@pytest.fixture(scope="module", params=DEPLOYMENTS, ids=[d[0] for d in DEPLOYMENTS])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    label, extra, banner = request.param
    app_dir = tmp_path_factory.mktemp(f"ws-{label}")
    (app_dir / "wsapp.py").write_text(APP)
    port = free_port()
    with serving(tachyon_cli("wsapp:app", app_dir, port, *extra), app_dir / "server.log", port) as running:
        assert banner in running.output()
        running.label = label  # type: ignore[attr-defined]
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
    # (src/asgi/conversion.rs builds it from the code alone); uvicorn carries both.
    reason = "" if server.label != "uvicorn" else "client leaving"
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
