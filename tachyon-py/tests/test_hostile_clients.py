"""Clients at fault, with raw sockets against real servers on loopback.

A request body cut short (EOF before Content-Length) or with a bad chunk size is the client's
fault: under the default server (on Linux the native one), under Granian over RSGI and over
ASGI (which serves apps with WebSocket routes) and under uvicorn it ends in a 400 or a clean
close, never a 500
and never a traceback in the server's log. A client that sends half its headers, or half its
body, and stalls, or that sends nothing at all, is cut off within the configured deadline
(short ones here; "closed within N seconds" with a generous N is the only timing checked).
"""

from __future__ import annotations

import socket
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import Server, free_port, serving, tachyon_cli
from _servers import request as http_request

pytest.importorskip("granian")
pytest.importorskip("uvicorn")

APP = textwrap.dedent(
    """
    from tachyon import Mount, Response, Route, Router, TachyonEngine, WebSocketRoute
    from tachyon.middleware.trustedhost import TrustedHostMiddleware


    async def echo(request):
        return Response(await request.body(), media_type="application/octet-stream")


    async def ws(websocket):
        await websocket.accept()
        await websocket.close()


    # No user middleware on the app itself: its requests take the fused one-frame path.
    trusted = TrustedHostMiddleware(Router([Route("/echo", echo, methods=["POST"])]), allowed_hosts=["x"])
    routes = [Route("/echo", echo, methods=["POST"]), Mount("/trusted", app=trusted)]
    app = TachyonEngine(routes=routes)
    # The same app with a WebSocket route: `python -m tachyon --server granian` serves it over ASGI.
    ws_app = TachyonEngine(routes=[*routes, WebSocketRoute("/ws", ws)])
    """
)

# (label, app, extra CLI arguments, what the banner names)
DEPLOYMENTS = [
    ("default", "app:app", (), "(native, ASGI" if sys.platform.startswith("linux") else "(granian, RSGI"),
    ("granian-rsgi", "app:app", ("--server", "granian"), "(granian, RSGI"),
    ("granian-asgi", "app:ws_app", ("--server", "granian"), "(granian, ASGI"),
    ("uvicorn", "app:app", ("--server", "uvicorn"), "(uvicorn, ASGI"),
    # Workers that import the app themselves get the same guard (through guarded_app).
    ("uvicorn-workers", "app:app", ("--server", "uvicorn", "--workers", "2"), "(uvicorn, ASGI, 2 workers"),
]
DEADLINE = 1.0
# Generous: the deadline is 1 s; a loaded machine may take a few more to close.
CLOSED_WITHIN = 15.0


@pytest.fixture(scope="module", params=DEPLOYMENTS, ids=[d[0] for d in DEPLOYMENTS])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    label, target, extra, banner = request.param
    app_dir = tmp_path_factory.mktemp(f"hostile-{label}")
    (app_dir / "app.py").write_text(APP)
    port = free_port()
    timeouts = ("--header-timeout", str(DEADLINE), "--body-timeout", str(DEADLINE))
    args = tachyon_cli(target, app_dir, port, "--log-level", "info", *timeouts, *extra)
    with serving(args, app_dir / "server.log", port) as running:
        assert banner in running.output()
        running.banner = banner  # type: ignore[attr-defined]
        yield running
        # Whatever the clients did, the worker still serves, and logged no server error.
        assert http_request(port, "POST", "/echo", body=b"still here")[2] == b"still here"
        output = running.output()
    assert "Traceback" not in output, output
    assert '" 500 ' not in output, output  # an access line with status 500 (not a pid such as 17500)


def exchange(port: int, data: bytes, half_close: bool = False) -> tuple[bytes, float]:
    """Send `data`, optionally half-close, read until the server closes: (reply, seconds)."""
    with socket.create_connection(("127.0.0.1", port), timeout=CLOSED_WITHIN) as sock:
        start = time.monotonic()
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            # A whole reply that announced `connection: close` is the server's answer: the
            # request was cut off. Granian (ASGI) has been seen, once on a loaded CI run, to
            # send such a 408 and leave its socket open past the limit; closing it is its own
            # runtime's job, not the app's, so only a missing or partial answer fails here.
            if not announced_close(reply):
                pytest.fail(f"connection still open after {CLOSED_WITHIN}s; got {reply!r}")
        return reply, time.monotonic() - start


def announced_close(reply: bytes) -> bool:
    """Whether `reply` is one complete response (by its content-length) saying it closes."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    if not sep:
        return False
    fields = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
    )
    length = fields.get(b"content-length")
    return (
        fields.get(b"connection", b"").lower() == b"close"
        and length is not None
        and length.isdigit()
        and len(body) == int(length)
    )


def status_of(reply: bytes) -> int | None:
    """The status of an HTTP/1.1 reply, or None for a close without one."""
    if not reply:
        return None
    return int(reply.split(b" ", 2)[1])


def test_body_cut_short_is_a_400_or_a_clean_close(server: Server) -> None:
    data = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly this much"
    reply, _ = exchange(server.port, data, half_close=True)
    assert status_of(reply) in (None, 400), reply


INVALID_CHUNK = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"


def test_invalid_chunk_size_is_a_400(server: Server) -> None:
    reply, _ = exchange(server.port, INVALID_CHUNK)
    assert status_of(reply) == 400, reply


def test_silent_connection_is_cut_off(server: Server) -> None:
    # Under Granian this needs HTTP/1 only: its auto mode waits, with no timer, for the bytes
    # that tell HTTP/1 from HTTP/2.
    reply, _ = exchange(server.port, b"")
    assert status_of(reply) in (None, 408), reply


def test_half_headers_then_stall_is_cut_off(server: Server) -> None:
    reply, _ = exchange(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Le")
    assert status_of(reply) in (None, 408), reply


def test_half_body_then_stall_is_cut_off(server: Server) -> None:
    reply, _ = exchange(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
    assert status_of(reply) in (None, 408), reply


def test_two_host_headers_are_refused_by_trusted_host(server: Server) -> None:
    head = b"POST /trusted/echo HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n"
    reply, _ = exchange(server.port, head + b"Host: x\r\n\r\nhi")
    assert status_of(reply) == 200 and reply.endswith(b"\r\n\r\nhi"), reply
    reply, _ = exchange(server.port, head + b"Host: x\r\nHost: evil.example\r\n\r\nhi")
    assert status_of(reply) == 400 and reply.endswith(b"Invalid host header"), reply


def test_a_body_within_the_deadline_is_served(server: Server) -> None:
    status, _, body = http_request(server.port, "POST", "/echo", body=b"x" * 100_000)
    assert (status, body) == (200, b"x" * 100_000)


def test_cli_rejects_bad_deadlines(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "app.py").write_text(APP)
    for args in (
        ("--header-timeout", "0"),
        ("--header-timeout", "61", "--server", "granian"),  # Granian's limit
        ("--body-timeout", "-1"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tachyon", "app:app", "--app-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("tachyon: error: ") and "timeout" in result.stderr
