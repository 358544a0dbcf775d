"""FileResponse reads its file in large blocks off the event loop, but sends exactly the ASGI
messages Starlette's sends: the same chunks, sizes and `more_body` flags, for whole files,
single ranges and multipart/byteranges, and it closes the file whatever happens."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import STARLETTE, TACHYON

KIB = 1024


def messages(fw: Any, path: Path, headers: list[tuple[bytes, bytes]], chunk_size: int | None = None) -> list[Any]:
    cls = fw.responses.FileResponse
    if chunk_size is not None:
        cls = type("Sized", (cls,), {"chunk_size": chunk_size})
    response = cls(path, stat_result=os.stat(path))
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        await anyio.sleep(10)  # never disconnects during the test
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "method": "GET",
        "path": "/",
        "headers": headers,
    }
    anyio.run(response, scope, receive, send)
    # A multipart/byteranges boundary is random: compare it as a placeholder.
    boundary = b"\0"
    for name, value in sent[0].get("headers", []):
        if name == b"content-type" and b"boundary=" in value:
            boundary = value.split(b"boundary=")[1]
    out = []
    for message in sent:
        message = dict(message)
        if message["type"] == "http.response.start":
            message["headers"] = sorted((k, v.replace(boundary, b"B")) for k, v in message["headers"])
        elif "body" in message:
            message["body"] = message["body"].replace(boundary, b"B")
        out.append(message)
    return out


@pytest.mark.parametrize(
    "size", [0, 1, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 1024 * KIB, 1024 * KIB + 7, 3 * 1024 * KIB]
)
@pytest.mark.parametrize(
    "range_header",
    [
        None,
        "bytes=0-",
        "bytes=1-10",
        "bytes=100-",
        "bytes=-70000",
        "bytes=65536-1200000",
        "bytes=5-5",
        "bytes=0-0,2-2",
        "bytes=0-99,5000-5999,-500",
        "bytes=10-70000,1100000-2500000,-3",
    ],
)
def test_file_messages_are_starlettes(tmp_path: Path, size: int, range_header: str | None) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(size))
    headers = [] if range_header is None else [(b"range", range_header.encode())]
    ours = messages(TACHYON, path, headers)
    theirs = messages(STARLETTE, path, headers)
    assert ours == theirs


@pytest.mark.parametrize("chunk_size", [1, 1000, 4096, 2 * 1024 * KIB])
def test_a_subclass_chunk_size_is_kept(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(70 * KIB if chunk_size > 1 else 3000))
    for headers in ([], [(b"range", b"bytes=10-5000")]):
        ours = messages(TACHYON, path, headers, chunk_size)
        assert ours == messages(STARLETTE, path, headers, chunk_size)


def test_the_file_is_closed_when_sending_fails(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(3 * 1024 * KIB))
    response = TACHYON.responses.FileResponse(path)
    # A send that fails part-way, written out here as in test_responses.py's streaming test,
    # so that each test reads alone.
    count = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal count
        count += 1
        if count == 3:
            raise OSError("client went away")

    async def receive() -> dict[str, Any]:  # pragma: no cover - ASGI 2.4: never called
        return {"type": "http.disconnect"}

    scope = {"type": "http", "asgi": {"spec_version": "2.4"}, "method": "GET", "path": "/", "headers": []}
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="client went away"):
        anyio.run(response, scope, receive, send)
    gc.collect()
    assert set(os.listdir("/proc/self/fd")) <= before
