"""Middleware test helpers: drive an ASGI app directly and record what it sends.

Not a conftest.py, so `from conftest import ...` keeps meaning tests/conftest.py.
"""

from __future__ import annotations

import importlib
from typing import Any

import anyio

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
