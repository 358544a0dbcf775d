"""uvicorn's WebSocket limits on the command line and in `app.run()`: `--ws-max-size`,
`--ws-ping-interval`, `--ws-ping-timeout`, served by the native server and passed on to
uvicorn. Real processes on loopback sockets, each wait bounded.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from _servers import Server, free_port, serving, tachyon_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the native server is Linux only")
websockets_sync = pytest.importorskip("websockets.sync.client")
wsproto = pytest.importorskip("wsproto")
from websockets.exceptions import ConnectionClosed  # noqa: E402
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request  # noqa: E402

from tachyon.supervisor import NativeOptions, _worker_command  # noqa: E402

TIMEOUT = 10.0
PING_DEADLINE = 15.0  # generous: only "a ping arrived before it" is checked

APP = textwrap.dedent(
    """
    from tachyon import TachyonEngine, WebSocketRoute


    async def echo(websocket):
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])


    app = TachyonEngine(routes=[WebSocketRoute("/echo", echo)])
    """
)

SERVERS = ["native", "uvicorn"]


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "wsopts.py").write_text(APP)
    return tmp_path


@pytest.fixture
def serve(app_dir: Path) -> Iterator[Callable[..., Server]]:
    """Starts `python -m tachyon wsopts:app --server <server> <extra>`; stops them all at the end."""
    with ExitStack() as stack:

        def start(server: str, *extra: str) -> Server:
            if server == "uvicorn":
                pytest.importorskip("uvicorn")
            port = free_port()
            args = tachyon_cli("wsopts:app", app_dir, port, "--server", server, *extra)
            return stack.enter_context(serving(args, app_dir / f"{server}.log", port))

        yield start


@pytest.mark.parametrize("server", SERVERS)
def test_a_message_over_ws_max_size_closes_with_1009(serve: Callable[..., Server], server: str) -> None:
    running = serve(server, "--ws-max-size", "1000")
    url = f"ws://127.0.0.1:{running.port}/echo"
    with websockets_sync.connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, max_size=None) as ws:
        ws.send(b"x" * 1000)
        assert ws.recv(timeout=TIMEOUT) == b"x" * 1000
        ws.send(b"x" * 1001)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=TIMEOUT)
    assert info.value.rcvd is not None, "closed without a close frame"
    assert info.value.rcvd.code == 1009


def _first_ping(port: int) -> bytes:
    """Opens a WebSocket with a client that never pings and records the server's pings:
    the payload of the first one (answered with a pong), within PING_DEADLINE."""
    connection = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(connection.send(Request(host=f"127.0.0.1:{port}", target="/echo")))
        deadline = time.monotonic() + PING_DEADLINE
        accepted = False
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            connection.receive_data(data)
            for event in connection.events():
                if isinstance(event, AcceptConnection):
                    accepted = True
                elif isinstance(event, Ping):
                    sock.sendall(connection.send(event.response()))
                    sock.sendall(connection.send(CloseConnection(code=1000)))
                    return bytes(event.payload)
                elif isinstance(event, CloseConnection):
                    raise AssertionError(f"closed by the server ({event.code}) before a ping")
        raise AssertionError(f"no ping within {PING_DEADLINE} s (accepted: {accepted})")


@pytest.mark.parametrize("server", SERVERS)
def test_the_server_pings_at_the_configured_interval(serve: Callable[..., Server], server: str) -> None:
    # The default interval is 20 s, past the deadline: a ping before it is the setting's.
    running = serve(server, "--ws-ping-interval", "0.2")
    _first_ping(running.port)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tachyon", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--ws-max-size", "0"), "--ws-max-size must be a positive whole number of bytes, not 0"),
        (("--ws-max-size", "-5"), "--ws-max-size must be a positive whole number of bytes, not -5"),
        (("--ws-ping-interval", "-1"), "--ws-ping-interval must be 0 (none) or a positive number of seconds"),
        (("--ws-ping-timeout", "nan"), "--ws-ping-timeout must be 0 (none) or a positive number of seconds"),
        (("--server", "granian", "--ws-max-size", "1000"), "--ws-max-size: supported by the native server and uvicorn"),
    ],
)
def test_bad_websocket_limits_are_one_line_and_exit_2(app_dir: Path, args: tuple[str, ...], fragment: str) -> None:
    if "granian" in args:
        pytest.importorskip("granian")
    result = run_cli("wsopts:app", "--app-dir", str(app_dir), "--port", str(free_port()), *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if "DEBUG build" not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tachyon: error: ")
    assert fragment in lines[0], lines[0]


def test_a_non_integer_ws_max_size_is_refused_by_the_command_line(app_dir: Path) -> None:
    result = run_cli("wsopts:app", "--app-dir", str(app_dir), "--ws-max-size", "1.5")
    assert result.returncode == 2
    assert "--ws-max-size: invalid int value: '1.5'" in result.stderr


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"ws_max_size": 0}, "--ws-max-size must be a positive whole number of bytes, not 0"),
        ({"ws_max_size": 1.5}, "--ws-max-size must be a positive whole number of bytes, not 1.5"),
        ({"ws_ping_timeout": -2.0}, "--ws-ping-timeout must be 0 (none) or a positive number of seconds, not -2.0"),
    ],
)
def test_app_run_refuses_bad_websocket_limits(
    capsys: pytest.CaptureFixture[str], kwargs: dict[str, object], fragment: str
) -> None:
    from tachyon import TachyonEngine
    from tachyon.server import run

    with pytest.raises(SystemExit) as info:
        run(TachyonEngine(), port=free_port(), server="native", **kwargs)  # type: ignore[arg-type]
    assert info.value.code == 2
    assert fragment in capsys.readouterr().err


def test_the_reloaders_worker_gets_the_websocket_limits() -> None:
    command = _worker_command(
        NativeOptions(import_string="m:app", ws_max_size=1234, ws_ping_interval=None, ws_ping_timeout=2.5), fd=3
    )
    pairs = dict(zip(command, command[1:], strict=False))
    assert pairs["--ws-max-size"] == "1234"
    assert pairs["--ws-ping-interval"] == "0"
    assert pairs["--ws-ping-timeout"] == "2.5"


def test_native_server_refuses_a_zero_max_size() -> None:
    import asyncio

    from tachyon._tachyon import NativeServer

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="ws_max_size"):
            NativeServer(
                lambda *a: None,
                fused=False,
                scope_app=None,
                state={},
                tasks=set(),
                report=lambda exc, message: None,
                event_loop=loop,
                ws_max_size=0,
            )
    finally:
        loop.close()
