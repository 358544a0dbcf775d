"""Middleware test helpers: drive an ASGI app directly and record what it sends.

Not a conftest.py, so `from conftest import ...` keeps meaning tests/conftest.py.
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any

import anyio
import brotli
import zstandard

Messages = list[dict[str, Any]]


async def run_asgi(
    app: Any,
    *,
    method: str = "GET",
    path: str = "/",
    headers: list[tuple[bytes, bytes]] | None = None,
    body_chunks: list[bytes] | None = None,
    scope_extra: dict[str, Any] | None = None,
) -> Messages:
    """Call `app` with an HTTP scope and the body in `body_chunks`, then a disconnect;
    return every message it sent, in order."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")] + (headers or []),
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        **(scope_extra or {}),
    }
    chunks = list(body_chunks if body_chunks is not None else [b""])
    incoming: Messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: Messages = []
    done = anyio.Event()

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        # Copy: middleware may keep mutating the dicts they pass on.
        sent.append({**message, "headers": list(message["headers"])} if "headers" in message else dict(message))
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    await app(scope, receive, send)
    return sent


def asgi(app: Any, **kwargs: Any) -> Messages:
    """Run `run_asgi(app, **kwargs)` on a fresh event loop and return the sent messages."""

    async def main() -> Messages:
        return await run_asgi(app, **kwargs)

    return anyio.run(main)


def stacks(name: str) -> tuple[Any, Any]:
    """The module `name` (e.g. "middleware.gzip") from Starlette and from Tachyon."""
    return importlib.import_module(f"starlette.{name}"), importlib.import_module(f"tachyon.{name}")


def _decoder(encoding: bytes) -> Any:
    """An incremental decoder for a Content-Encoding: `decode(chunk) -> bytes`."""
    if encoding == b"gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress
    if encoding == b"br":
        return brotli.Decompressor().process
    if encoding == b"zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress
    return None


def decoded(messages: Messages) -> Messages:
    """`messages` with each compressed body chunk replaced by what it decodes to.

    Different compressors (Python's zlib, zlib-rs, brotli, zstd) send different bytes for
    the same content, so a differential test compares what the client reads instead: each
    chunk must decode on its own (every chunk but the last is flushed), the Content-Length
    must be the length of the compressed bytes actually sent (then it is replaced by a
    marker), and the Content-Encoding value by a marker, so a gzip response and a br one for
    the same content compare equal. Bodies that do not decode (Content-Encoding set by the
    app itself, left alone) are returned as they are, to be compared byte for byte.
    """
    starts = [i for i, m in enumerate(messages) if m["type"] == "http.response.start"]
    if not starts:
        return messages
    start = messages[starts[0]]
    headers = list(start["headers"])
    encodings = [value for name, value in headers if name.lower() == b"content-encoding"]
    decode = _decoder(encodings[0]) if len(encodings) == 1 else None
    if decode is None:
        return messages
    out = [dict(m) for m in messages]
    sent = 0
    try:
        for message in out:
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                sent += len(body)
                message["body"] = decode(body)
    except (zlib.error, brotli.error, zstandard.ZstdError):
        # Not compressed by the middleware (an app that set Content-Encoding itself):
        # compared byte for byte.
        return messages
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"content-length":
            assert int(value) == sent, (value, sent)
            headers[index] = (name, b"<compressed length>")
        elif name.lower() == b"content-encoding":
            headers[index] = (name, b"<coded>")
    out[starts[0]]["headers"] = headers
    return out
