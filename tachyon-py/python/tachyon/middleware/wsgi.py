"""`WSGIMiddleware`: serve a WSGI app from an ASGI one (deprecated, as in Starlette).

The WSGI app runs in a worker thread; its status, headers and body chunks come back to
the event loop through a memory stream.
"""

from __future__ import annotations

import io
import math
import sys
import warnings
from collections.abc import Callable, MutableMapping
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from tachyon._utils import create_collapsing_task_group
from tachyon.compat import package_name
from tachyon.exceptions import TachyonDeprecationWarning
from tachyon.types import Receive, Scope, Send

__all__ = ["WSGIMiddleware", "build_environ"]

warnings.warn(
    # Named as the importer knows it: `starlette.middleware.wsgi` under tachyon.compat's alias,
    # so warning filters written for Starlette keep matching.
    f"{package_name()}.middleware.wsgi is deprecated and will be removed in a future release. "
    "Please refer to https://github.com/abersheeran/a2wsgi as a replacement.",
    TachyonDeprecationWarning,
    stacklevel=2,
)


def build_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The WSGI environ for an ASGI HTTP scope and its whole body."""
    # WSGI strings are bytes decoded as latin-1 ("native strings", PEP 3333).
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if path_info == script_name or path_info.startswith(script_name.rstrip("/") + "/"):
        path_info = path_info[len(script_name) :]

    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope["query_string"].decode("ascii"),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stdout,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }

    # WSGI requires a server name and port; ASGI may omit them.
    server = scope.get("server") or ("localhost", 80)
    environ["SERVER_NAME"] = server[0]
    environ["SERVER_PORT"] = server[1]

    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]

    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1")
        if name == "content-length":
            key = "CONTENT_LENGTH"
        elif name == "content-type":
            key = "CONTENT_TYPE"
        else:
            key = f"HTTP_{name}".upper().replace("-", "_")
        value = raw_value.decode("latin1")
        if key in environ:
            # Repeated headers are joined, as a proxy would fold them.
            value = environ[key] + "," + value
        environ[key] = value
    return environ


class WSGIMiddleware:
    """Wrap a WSGI callable `app(environ, start_response)` as an ASGI app."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        await WSGIResponder(self.app, scope)(receive, send)


class WSGIResponder:
    """One request served by the WSGI app."""

    stream_send: ObjectSendStream[MutableMapping[str, Any]]
    stream_receive: ObjectReceiveStream[MutableMapping[str, Any]]

    def __init__(self, app: Callable[..., Any], scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self.status = None
        self.response_headers = None
        self.stream_send, self.stream_receive = anyio.create_memory_object_stream(math.inf)
        self.response_started = False
        self.exc_info: Any = None

    async def __call__(self, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        more_body = True
        while more_body:
            message = await receive()
            chunks.append(message.get("body", b""))
            more_body = message.get("more_body", False)
        environ = build_environ(self.scope, b"".join(chunks))

        async with create_collapsing_task_group() as task_group:
            task_group.start_soon(self.sender, send)
            async with self.stream_send:
                await anyio.to_thread.run_sync(self.wsgi, environ, self.start_response)
        if self.exc_info is not None:
            raise self.exc_info[0].with_traceback(self.exc_info[1], self.exc_info[2])

    async def sender(self, send: Send) -> None:
        async with self.stream_receive:
            async for message in self.stream_receive:
                await send(message)

    def start_response(self, status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.exc_info = exc_info
        if self.response_started:  # pragma: no cover
            return
        self.response_started = True
        status_code = int(status.split(" ", 1)[0])
        headers = [
            (name.strip().encode("ascii").lower(), value.strip().encode("ascii")) for name, value in response_headers
        ]
        anyio.from_thread.run(
            self.stream_send.send, {"type": "http.response.start", "status": status_code, "headers": headers}
        )

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> None:
        for chunk in self.app(environ, start_response):
            anyio.from_thread.run(
                self.stream_send.send, {"type": "http.response.body", "body": chunk, "more_body": True}
            )
        anyio.from_thread.run(self.stream_send.send, {"type": "http.response.body", "body": b""})
