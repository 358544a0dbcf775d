"""Starlette's published CVEs, each as a named regression test asserting Tachyon's safe behaviour.

| CVE | Starlette issue | test |
|---|---|---|
| CVE-2023-30798 | no limit on the number of multipart fields and files | `test_cve_2023_30798_*` |
| CVE-2024-47874 | a multipart field without a filename buffered in memory without limit | `test_cve_2024_47874_*` |
| CVE-2023-29159 | StaticFiles traversal to a sibling directory sharing the prefix | `test_cve_2023_29159_*` |
| CVE-2025-62727 | Range headers with many / overlapping ranges made FileResponse quadratic | `test_cve_2025_62727_*` |
| CVE-2025-54121 | an upload rolling its SpooledTemporaryFile to disk blocked the event loop | `test_cve_2025_54121_*` |
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from tachyon import formparsers
from tachyon.applications import Starlette
from tachyon.requests import Request
from tachyon.responses import FileResponse, JSONResponse
from tachyon.routing import Route
from tachyon.staticfiles import StaticFiles
from tachyon.testclient import TestClient

BOUNDARY = "cveBoundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def field(name: str, value: bytes) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"


def file_part(name: str, filename: str, value: bytes) -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
    return (head + "Content-Type: application/octet-stream\r\n\r\n").encode() + value + b"\r\n"


END = f"--{BOUNDARY}--\r\n".encode()


class Stream:
    """An ASGI `receive` over fixed-size chunks of a body, counting the bytes handed out."""

    def __init__(self, body: bytes, chunk: int = 4096) -> None:
        self.chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
        self.total = len(body)
        self.sent = 0

    async def __call__(self) -> dict[str, Any]:
        if not self.chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = self.chunks.pop(0)
        self.sent += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}


def form_request(stream: Stream) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"content-type", CONTENT_TYPE.encode())],
    }
    return Request(scope, stream)


def form_app() -> TestClient:
    async def endpoint(request: Request) -> JSONResponse:
        form = await request.form()
        count = len(form)
        await form.close()
        return JSONResponse({"items": count})

    return TestClient(Starlette(routes=[Route("/", endpoint, methods=["POST"])]))


@pytest.fixture
def spooled(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every SpooledTemporaryFile the multipart parser creates, recorded."""
    created: list[Any] = []

    class Recorded(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", Recorded)
    return created


# --- CVE-2023-30798: max_files / max_fields ---------------------------------------------------


def test_cve_2023_30798_too_many_fields_is_400_and_stops_reading() -> None:
    """CVE-2023-30798: a multipart body with thousands of fields must be refused at
    `max_fields` (default 1000) with a 400, without reading (or keeping) the rest."""
    body = b"".join(field(f"f{i}", b"x") for i in range(5000)) + END
    response = form_app().post("/", content=body, headers={"content-type": CONTENT_TYPE})
    assert response.status_code == 400
    assert response.text == "Too many fields. Maximum number of fields is 1000."

    stream = Stream(body)

    async def parse() -> None:
        with pytest.raises(formparsers.MultiPartException, match="Too many fields"):
            await form_request(stream).form(max_fields=10)

    anyio.run(parse)
    assert stream.sent < stream.total // 10, "parsing stopped at the limit"


def test_cve_2023_30798_too_many_files_is_400_and_closes_them(spooled: list[Any]) -> None:
    """CVE-2023-30798: a multipart body with thousands of files must be refused at
    `max_files` (default 1000) with a 400; no more temporary files are made than the limit
    allows, and every one made is closed."""
    body = b"".join(file_part("f", f"{i}.txt", b"x") for i in range(3000)) + END
    response = form_app().post("/", content=body, headers={"content-type": CONTENT_TYPE})
    assert response.status_code == 400
    assert response.text == "Too many files. Maximum number of files is 1000."
    assert len(spooled) <= 1000
    assert all(f.closed for f in spooled)

    spooled.clear()
    stream = Stream(body)

    async def parse() -> None:
        with pytest.raises(formparsers.MultiPartException, match="Too many files"):
            await form_request(stream).form(max_files=5)

    anyio.run(parse)
    assert len(spooled) <= 5 and all(f.closed for f in spooled)
    assert stream.sent < stream.total // 10


# --- CVE-2024-47874: a field without a filename, larger than max_part_size -------------------


def test_cve_2024_47874_large_field_without_filename_is_refused_while_streaming() -> None:
    """CVE-2024-47874: a form field with no filename is kept in memory, so it must be
    refused once it passes `max_part_size` (default 1 MiB), while it streams in: a 16 MiB
    field is never buffered."""
    body = field("big", b"a" * (16 * 1024 * 1024)) + END
    response = form_app().post("/", content=body, headers={"content-type": CONTENT_TYPE})
    assert response.status_code == 400
    assert response.text == "Part exceeded maximum size of 1024KB."

    chunk = 64 * 1024
    stream = Stream(body, chunk)

    async def parse() -> None:
        with pytest.raises(formparsers.MultiPartException, match="Part exceeded maximum size"):
            await form_request(stream).form()

    anyio.run(parse)
    assert stream.sent <= 1024 * 1024 + 2 * chunk, "refused within a chunk of the limit"

    # The same size as a file part is accepted: files go to a spooled temporary file.
    body = file_part("big", "big.bin", b"a" * (2 * 1024 * 1024)) + END
    response = form_app().post("/", content=body, headers={"content-type": CONTENT_TYPE})
    assert response.json() == {"items": 1}


# --- CVE-2023-29159: StaticFiles traversal ------------------------------------------------


def call_asgi(app: Any, path: str) -> tuple[int, bytes]:
    """Sends one GET with `path` exactly as given (no client-side normalisation)."""
    messages: list[dict[str, Any]] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await anyio.sleep_forever()  # the client waits for the response; cancelled after it
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("testserver", 80),
    }

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:  # the bare app raises HTTPException for 404
            status = getattr(exc, "status_code", 500)
            messages.append({"type": "http.response.start", "status": status})

    anyio.run(run)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, body


@pytest.mark.parametrize(
    "path",
    [
        "/../static_secret/secret.txt",
        "/../static_secret/../static_secret/secret.txt",
        "/..%2Fstatic_secret/secret.txt",
        "/sub/../../static_secret/secret.txt",
        "/../staticfile.txt",
        "/..\\static_secret\\secret.txt",
        "/%2e%2e/static_secret/secret.txt",
    ],
)
@pytest.mark.parametrize("follow_symlink", [False, True])
def test_cve_2023_29159_no_traversal_to_a_sibling_sharing_the_prefix(
    tmp_path: Path, path: str, follow_symlink: bool
) -> None:
    """CVE-2023-29159: StaticFiles compared paths with `os.path.commonprefix`, so
    `static/../static_secret/secret.txt` was served from a sibling directory whose name
    starts with the static directory's. Every such path must be a 404, never the file."""
    static = tmp_path / "static"
    (static / "sub").mkdir(parents=True)
    (static / "ok.txt").write_text("public")
    (tmp_path / "static_secret").mkdir()
    (tmp_path / "static_secret" / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "staticfile.txt").write_text("TOP SECRET")
    app = StaticFiles(directory=static, follow_symlink=follow_symlink)
    status, body = call_asgi(app, path)
    assert status == 404, (path, status)
    assert b"SECRET" not in body
    assert call_asgi(app, "/ok.txt") == (200, b"public")
    # Through a client and a mount too.
    client = TestClient(Starlette(routes=[]))
    client.app.mount("/static", app)
    response = client.get("/static" + path.replace("..", "%2E%2E"))
    assert response.status_code == 404 and "SECRET" not in response.text


# --- CVE-2025-62727: Range header DoS ------------------------------------------------------


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 40)  # 10240 bytes
    return path


def file_client(path: Path, cls: type[FileResponse] = FileResponse) -> TestClient:
    async def endpoint(request: Request) -> FileResponse:
        return cls(path)

    return TestClient(Starlette(routes=[Route("/", endpoint)]))


def test_cve_2025_62727_overlapping_ranges_are_merged_not_repeated(data_file: Path) -> None:
    """CVE-2025-62727: many overlapping Range items made FileResponse's work (and the
    multipart body) grow with the square of their number. Overlapping and nested ranges are
    merged, so the response is never larger than the file."""
    size = data_file.stat().st_size
    client = file_client(data_file)
    header = "bytes=" + ",".join(f"{i}-{size - 1 - i}" for i in range(99))
    response = client.get("/", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-{size - 1}/{size}"
    assert response.content == data_file.read_bytes()

    header = "bytes=" + ",".join("0-100" for _ in range(99))
    response = client.get("/", headers={"Range": header})
    assert response.status_code == 206 and len(response.content) == 101


def test_cve_2025_62727_too_many_ranges_send_the_whole_file(data_file: Path) -> None:
    """CVE-2025-62727: more than `max_ranges` (100) items and the header is ignored, the
    whole file sent once (200), whatever the header's size."""
    client = file_client(data_file)
    for header in (
        "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 10000, 2)),
        "bytes=" + "0-1," * 200_000,
        "bytes=" + "," * 1_000_000,
    ):
        response = client.get("/", headers={"Range": header})
        assert response.status_code == 200
        assert response.content == data_file.read_bytes()


def test_cve_2025_62727_merging_scales_when_max_ranges_is_raised(data_file: Path) -> None:
    """CVE-2025-62727: with `max_ranges` raised, 200,000 nested ranges still merge into one
    (a sort and one pass; the vulnerable merge was quadratic and would not finish)."""

    class Many(FileResponse):
        max_ranges = 10**6

    size = data_file.stat().st_size
    header = "bytes=" + ",".join(f"{i % 5000}-{size - 1 - i % 5000}" for i in range(200_000))
    assert Many._parse_range_header(header, size) == [(0, size)]
    response = file_client(data_file, Many).get("/", headers={"Range": header})
    assert response.status_code == 206 and response.content == data_file.read_bytes()


# --- CVE-2025-54121: rolling an upload to disk must not block the event loop --------------


def test_cve_2025_54121_rollover_to_disk_runs_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, spooled: list[Any]
) -> None:
    """CVE-2025-54121: writing an upload's chunk that makes its SpooledTemporaryFile roll
    over to disk (copying the in-memory part to a real file) ran on the event loop thread,
    blocking every other request. Starlette's fix writes in a worker thread once the file
    will roll or has rolled; Tachyon's `UploadFile.write` does the same. Every disk write
    (the roll-over included) must happen off the loop thread."""
    monkeypatch.setattr(formparsers.MultiPartParser, "spool_max_size", 64 * 1024)
    writes: list[tuple[bool, int]] = []  # (on disk before the write, thread id)
    rollovers: list[int] = []
    original_write = tempfile.SpooledTemporaryFile.write
    original_rollover = tempfile.SpooledTemporaryFile.rollover

    def write(self: Any, data: bytes) -> int:
        writes.append((self._rolled, threading.get_ident()))
        return original_write(self, data)

    def rollover(self: Any) -> None:
        if not self._rolled:
            rollovers.append(threading.get_ident())
        original_rollover(self)

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "write", write)
    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", rollover)

    loop_thread: list[int] = []
    body = file_part("upload", "big.bin", b"z" * (1024 * 1024)) + field("after", b"1") + END
    stream = Stream(body, 16 * 1024)

    async def parse() -> None:
        loop_thread.append(threading.get_ident())
        form = await form_request(stream).form()
        upload = form["upload"]
        assert not isinstance(upload, str)
        assert upload.size == 1024 * 1024
        assert await upload.read() == b"z" * (1024 * 1024)
        await form.close()

    anyio.run(parse)
    assert len(spooled) == 1 and spooled[0]._rolled
    assert rollovers and all(t != loop_thread[0] for t in rollovers), "the roll-over ran on the loop"
    disk_writes = [t for on_disk, t in writes if on_disk]
    assert disk_writes, "the file was written after rolling over"
    assert all(t != loop_thread[0] for t in disk_writes), "a disk write ran on the loop"


def test_cve_2025_54121_small_uploads_stay_in_memory_on_the_loop(spooled: list[Any]) -> None:
    """CVE-2025-54121, the other side of the fix: uploads under the spool limit never touch
    the disk (no roll-over), so writing them inline on the loop is cheap and correct."""
    body = file_part("small", "s.bin", b"q" * 1000) + END
    stream = Stream(body)

    async def parse() -> None:
        form = await form_request(stream).form()
        assert form["small"].size == 1000  # type: ignore[union-attr]
        await form.close()

    anyio.run(parse)
    assert len(spooled) == 1 and not spooled[0]._rolled
