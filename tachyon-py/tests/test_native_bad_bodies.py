"""Malformed request bodies on the native server: the client gets a 400, the log stays clean.

A chunked body with a bad chunk size fails while the app reads it. The server answers `400`
and closes the connection, whatever the app made of the failure (its `ClientDisconnect`), as
uvicorn does; no traceback is logged, and, as uvicorn does for requests it answers itself,
no access line either.
"""

from __future__ import annotations

import socket
import sys
import textwrap
from pathlib import Path

import pytest
from _servers import free_port, request, serving, tachyon_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the native server is Linux only")

APP = textwrap.dedent(
    """
    from tachyon import Response, Route, TachyonEngine


    async def echo(request):
        return Response(await request.body())


    app = TachyonEngine(routes=[Route("/echo", echo, methods=["POST"])])
    """
)

BAD_BODIES = {
    "size not hexadecimal": b"zz\r\nhello\r\n0\r\n\r\n",
    "chunk longer than its size": b"3\r\nhello\r\n0\r\n\r\n",
}


def exchange(port: int, raw: bytes) -> bytes:
    """Sends `raw` and reads until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("body", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_a_malformed_chunked_body_is_400_and_logs_no_error(tmp_path: Path, body: bytes) -> None:
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    args = tachyon_cli("app:app", tmp_path, port, "--server", "native", "--log-level", "info")
    with serving(args, tmp_path / "server.log", port) as server:
        head = b"POST /echo HTTP/1.1\r\nhost: testserver\r\ntransfer-encoding: chunked\r\n\r\n"
        answer = exchange(port, head + body)
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
        assert b"\r\nconnection: close\r\n" in answer
        # The worker still serves, and its log says nothing of the bad request.
        assert request(port, "POST", "/echo", body=b"fine")[2] == b"fine"
        server.stop()
        output = server.output()
    assert "Traceback" not in output, output
    assert "never retrieved" not in output, output
    assert output.count('"POST /echo HTTP/1.1"') == 1, output
    assert '"POST /echo HTTP/1.1" 200' in output, output
