"""Ten thousand idle connections against the native server (one worker process).

A client that opens connections and never sends a request holds a socket each: the worker
must keep serving other clients while they are open, and cut every one of them off at the
header deadline. The connections are plain sockets in this process and the server runs in a
subprocess, so each side holds about 10,000 descriptors; the test raises its own soft limit
(the server inherits it) and is skipped only where the hard limit is too low.
"""

from __future__ import annotations

import contextlib
import errno
import resource
import selectors
import socket
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import free_port, request, serving, tachyon_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the native server is Linux only")

IDLE = 10_000
# Descriptors beyond the idle sockets: the interpreter, pytest, the selector, the log.
SPARE = 512
DEADLINE = 2.0
# Generous: the deadline is 2 s; a loaded machine may take a few more to close 10,000 sockets.
CLOSED_WITHIN = 30.0

APP = textwrap.dedent(
    """
    from tachyon import JSONResponse, Route, TachyonEngine


    async def hello(request):
        return JSONResponse({"message": "Hello, World!"})


    app = TachyonEngine(routes=[Route("/", hello)])
    """
)


@pytest.fixture
def enough_descriptors() -> Iterator[None]:
    """Raises this process's soft descriptor limit (servers started now inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = IDLE + SPARE
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the hard limit on open files is {hard}, below the {wanted} this test needs")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_idle(port: int, count: int) -> list[socket.socket]:
    """`count` connections to `port` that send nothing; retried while the backlog is full."""
    sockets: list[socket.socket] = []
    try:
        while len(sockets) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(10)
            try:
                sock.connect(("127.0.0.1", port))
            except OSError as exc:
                sock.close()
                if exc.errno in (errno.ECONNREFUSED, errno.EAGAIN, errno.ETIMEDOUT):
                    time.sleep(0.05)
                    continue
                raise
            sock.setblocking(False)
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def wait_all_closed(sockets: list[socket.socket], within: float) -> int:
    """Waits until the server has closed every socket (EOF or reset); returns how many it did."""
    closed = 0
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + within
        while closed < len(sockets):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in selector.select(min(left, 1.0)):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    data = b""
                except BlockingIOError:
                    continue
                # A connection that was never sent a request gets no response: only EOF.
                assert data == b"", data[:200]
                selector.unregister(sock)
                closed += 1
    return closed


def test_ten_thousand_idle_connections_are_cut_off_while_others_are_served(
    enough_descriptors: None, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    args = tachyon_cli("app:app", tmp_path, port, "--server", "native", "--header-timeout", str(DEADLINE))
    with serving(args, tmp_path / "server.log", port) as server:
        started = time.monotonic()
        idle = open_idle(port, IDLE)
        try:
            # Served while all 10,000 are open (the first ones may already be cut off).
            status, _, body = request(port, "GET", "/")
            assert (status, body) == (200, b'{"message":"Hello, World!"}')
            closed = wait_all_closed(idle, CLOSED_WITHIN)
            assert closed == IDLE, f"{IDLE - closed} idle connections still open {time.monotonic() - started:.1f} s in"
        finally:
            for sock in idle:
                with contextlib.suppress(OSError):
                    sock.close()
        # And after: the worker still serves, and logged no error.
        assert request(port, "GET", "/")[0] == 200
        assert "Traceback" not in server.output(), server.output()
