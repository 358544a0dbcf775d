"""StreamingResponse and FileResponse against Starlette's: same app, same requests, same bytes."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from conftest import STARLETTE, TACHYON, raw_response
from hypothesis import given, settings
from hypothesis import strategies as st

from tachyon.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, StreamingResponse

FRAMEWORKS = [STARLETTE, TACHYON]
CONTENT = bytes(range(256)) * 40 + b"tail"  # 10244 bytes, every byte value


def run_asgi(
    app: Any,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    incoming: list[dict[str, Any]] | None = None,
    **scope_extra: Any,
) -> list[dict[str, Any]]:
    """Call an ASGI app once, without a client, and return every message it sent."""
    scope: dict[str, Any] = {"type": "http", "method": method, "path": "/", "headers": headers or [], **scope_extra}
    pending = list(incoming or [{"type": "http.request", "body": b"", "more_body": False}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        with anyio.fail_after(10):  # a hang is a failure, not a stuck test run
            await app(scope, receive, send)

    anyio.run(main)
    return sent


def unbound(response: tuple[int, list[tuple[bytes, bytes]], bytes]) -> tuple[Any, ...]:
    """A multipart/byteranges response with its random boundary replaced by a fixed one."""
    status, headers, body = response
    found = [re.search(rb"boundary=([0-9a-f]+)", v) for k, v in headers if k == b"content-type"]
    assert found and found[0] is not None
    boundary = found[0].group(1)
    assert len(boundary) == 26
    return (
        status,
        [(k, v.replace(boundary, b"B" * 26)) for k, v in headers],
        body.replace(boundary, b"B" * 26),
    )


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(CONTENT)
    return path


# --- StreamingResponse ---------------------------------------------------------------------------


def streaming_app(fw: SimpleNamespace) -> Any:
    StreamingResponse = fw.responses.StreamingResponse
    BackgroundTask = __import__(f"{fw.name}.background", fromlist=["BackgroundTask"]).BackgroundTask
    Route = fw.routing.Route
    done: list[str] = []

    async def async_chunks() -> AsyncIterator[Any]:
        yield "héllo, "
        yield b"bytes, "
        yield memoryview(b"memory")

    def sync_chunks() -> Iterator[str]:
        yield from ("one ", "two ", "three")

    async def asynchronous(request: Any) -> Any:
        return StreamingResponse(async_chunks(), media_type="text/plain")

    async def synchronous(request: Any) -> Any:
        return StreamingResponse(sync_chunks(), status_code=201, headers={"X-Thing": "1"})

    async def plain_list(request: Any) -> Any:
        return StreamingResponse(["a", "b"], media_type="application/x-custom")

    async def with_length(request: Any) -> Any:
        return StreamingResponse(iter([b"abc"]), headers={"content-length": "3", "content-type": "x/y"})

    async def background(request: Any) -> Any:
        return StreamingResponse(iter([b"x"]), background=BackgroundTask(done.append, "ran"))

    async def ran(request: Any) -> Any:
        return fw.responses.PlainTextResponse(",".join(done))

    async def empty(request: Any) -> Any:
        return StreamingResponse(iter([]), status_code=204)

    return fw.applications.Starlette(
        routes=[
            Route("/async", asynchronous),
            Route("/sync", synchronous),
            Route("/list", plain_list),
            Route("/length", with_length),
            Route("/background", background),
            Route("/ran", ran),
            Route("/empty", empty),
        ]
    )


@pytest.mark.parametrize("path", ["/async", "/sync", "/list", "/length", "/empty"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_streaming_matches_starlette(both: Callable[..., Any], method: str, path: str) -> None:
    both(streaming_app)(method, path)


def test_streaming_background_task_runs_after_body(both: Callable[..., Any]) -> None:
    request = both(streaming_app)
    assert request("GET", "/background").content == b"x"
    assert request("GET", "/ran").text == "ran"


def test_streaming_sync_iterator_runs_in_a_thread() -> None:
    import threading

    threads: list[int] = []

    def chunks() -> Iterator[bytes]:
        threads.append(threading.get_ident())
        yield b"x"

    messages = run_asgi(StreamingResponse(chunks()))
    assert threads and threads[0] != threading.get_ident()
    assert messages[1:] == [
        {"type": "http.response.body", "body": b"x", "more_body": True},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_streaming_stops_when_the_client_disconnects(fw: SimpleNamespace) -> None:
    produced: list[int] = []
    ran: list[bool] = []

    async def forever() -> AsyncIterator[bytes]:
        n = 0
        while True:
            n += 1
            produced.append(n)
            yield b"."
            await anyio.sleep(0.001)

    async def task() -> None:
        ran.append(True)

    BackgroundTask = __import__(f"{fw.name}.background", fromlist=["BackgroundTask"]).BackgroundTask
    response = fw.responses.StreamingResponse(forever(), background=BackgroundTask(task))
    incoming = [{"type": "http.disconnect"}]
    messages = run_asgi(response, incoming=incoming)
    assert messages[0]["type"] == "http.response.start"
    assert all(m.get("more_body", False) for m in messages[1:])  # cut off, never finished
    assert ran == [True]


def test_streaming_disconnect_same_messages_as_starlette() -> None:
    def run(fw: SimpleNamespace) -> list[dict[str, Any]]:
        async def never_ending() -> AsyncIterator[bytes]:
            await anyio.sleep_forever()
            yield b""  # pragma: no cover

        return run_asgi(fw.responses.StreamingResponse(never_ending()), incoming=[{"type": "http.disconnect"}])

    assert run(TACHYON) == run(STARLETTE)


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_streaming_spec_2_4_turns_oserror_into_client_disconnect(fw: SimpleNamespace) -> None:
    response = fw.responses.StreamingResponse(iter([b"a", b"b"]))
    sends = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal sends
        sends += 1
        if sends == 2:
            raise OSError("gone")

    async def receive() -> dict[str, Any]:  # pragma: no cover - never consulted under 2.4
        raise AssertionError("ASGI 2.4 relies on send raising, not on receive")

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "asgi": {"spec_version": "2.4"}}
    disconnect = fw.requests.ClientDisconnect
    with pytest.raises(disconnect):
        anyio.run(response, scope, receive, send)


def test_streaming_spec_2_4_sends_everything() -> None:
    def run(fw: SimpleNamespace) -> list[dict[str, Any]]:
        return run_asgi(fw.responses.StreamingResponse(iter(["a", "b"])), asgi={"spec_version": "2.4"})

    assert run(TACHYON) == run(STARLETTE)


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_streaming_iterator_error_propagates_unwrapped(fw: SimpleNamespace) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"a"
        raise ValueError("broken iterator")

    with pytest.raises(ValueError, match="broken iterator"):
        run_asgi(fw.responses.StreamingResponse(broken()))


def test_streaming_websocket_denial_same_messages() -> None:
    def run(fw: SimpleNamespace) -> list[dict[str, Any]]:
        response = fw.responses.StreamingResponse(iter([b"no"]), status_code=403)
        return run_asgi(response, type="websocket")

    messages = run(TACHYON)
    assert messages == run(STARLETTE)
    assert [m["type"] for m in messages] == ["websocket.http.response.start"] + ["websocket.http.response.body"] * 2


# --- FileResponse: whole files -------------------------------------------------------------------


def file_app(path: Path, **kwargs: Any) -> Callable[[SimpleNamespace], Any]:
    def build(fw: SimpleNamespace) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.FileResponse(path, **kwargs)

        methods = ["GET", "HEAD", "POST", "PUT"]
        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint, methods=methods)])

    return build


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"filename": "report.pdf"},
        {"filename": "résumé final.txt"},
        {"filename": "a b;c.txt", "content_disposition_type": "inline"},
        {"media_type": "text/plain"},
        {"media_type": "text/html; charset=latin-1"},
        {"headers": {"ETag": '"mine"', "Content-Type": "x/y", "accept-ranges": "none"}},
        {"status_code": 203},
        {"headers": {"Cache-Control": "no-store"}, "filename": "x.json"},
    ],
    ids=repr,
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_file_matches_starlette(both: Callable[..., Any], data_file: Path, kwargs: dict[str, Any], method: str) -> None:
    response = both(file_app(data_file, **kwargs))(method, "/")
    if method == "GET" and kwargs.get("status_code", 200) == 200:
        assert response.content == CONTENT


@pytest.mark.parametrize("name", ["page.html", "style.css", "no_suffix", "archive.tar.gz", "pic.PNG"])
def test_file_media_type_guess(both: Callable[..., Any], tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"content")
    both(file_app(path))("GET", "/")


def test_file_given_stat_result(both: Callable[..., Any], data_file: Path) -> None:
    # The headers come from the stat_result given, not from the file (which may have changed).
    stat_result = os.stat(data_file)
    response = both(file_app(data_file, stat_result=stat_result))("GET", "/")
    assert response.headers["content-length"] == str(len(CONTENT))


def test_file_headers_exact(data_file: Path) -> None:
    import hashlib
    from email.utils import formatdate

    stat_result = os.stat(data_file)
    response = FileResponse(data_file, filename="données.bin", stat_result=stat_result)
    etag = hashlib.md5(f"{stat_result.st_mtime}-{stat_result.st_size}".encode()).hexdigest()
    assert response.raw_headers == [
        (b"content-type", b"application/octet-stream"),
        (b"accept-ranges", b"bytes"),
        (b"content-disposition", b"attachment; filename*=utf-8''donn%C3%A9es.bin"),
        (b"content-length", b"10244"),
        (b"last-modified", formatdate(stat_result.st_mtime, usegmt=True).encode()),
        (b"etag", f'"{etag}"'.encode()),
    ]


def test_empty_file(both: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    request = both(file_app(path))
    assert request("GET", "/").content == b""
    assert request("GET", "/", headers={"Range": "bytes=0-"}).status_code == 416
    assert request("GET", "/", headers={"Range": "bytes=-5"}).status_code == 416


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_missing_file_raises(fw: SimpleNamespace, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    with pytest.raises(RuntimeError, match=re.escape(f"File at path {missing} does not exist.")):
        run_asgi(fw.responses.FileResponse(missing))


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_directory_is_not_a_file(fw: SimpleNamespace, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=re.escape(f"File at path {tmp_path} is not a file.")):
        run_asgi(fw.responses.FileResponse(tmp_path))


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 250, 300])
@pytest.mark.parametrize(
    "headers",
    [[], [(b"range", b"bytes=10-149")], [(b"range", b"bytes=0-9,50-59,290-")], [(b"range", b"bytes=-1")]],
    ids=["whole", "single", "multi", "suffix"],
)
def test_chunked_reading_same_messages(tmp_path: Path, size: int, headers: list[tuple[bytes, bytes]]) -> None:
    path = tmp_path / "chunks.bin"
    path.write_bytes(bytes(i % 251 for i in range(size)))

    def run(fw: SimpleNamespace) -> list[dict[str, Any]]:
        response = fw.responses.FileResponse(path)
        response.chunk_size = 100
        return run_asgi(response, headers=headers)

    assert fixed_boundary(run(TACHYON)) == fixed_boundary(run(STARLETTE))


def _swap(message: dict[str, Any], old: bytes, new: bytes) -> dict[str, Any]:
    if "headers" in message:
        return {**message, "headers": [(k, v.replace(old, new)) for k, v in message["headers"]]}
    if "body" in message:
        return {**message, "body": bytes(message["body"]).replace(old, new)}
    return message  # pragma: no cover


@pytest.mark.parametrize("headers", [[], [(b"range", b"bytes=0-1")], [(b"range", b"bytes=0-1,5-6")]])
def test_pathsend_extension_same_messages(data_file: Path, headers: list[tuple[bytes, bytes]]) -> None:
    def run(fw: SimpleNamespace) -> list[dict[str, Any]]:
        response = fw.responses.FileResponse(data_file)
        return fixed_boundary(run_asgi(response, headers=headers, extensions={"http.response.pathsend": {}}))

    assert run(TACHYON) == run(STARLETTE)


def fixed_boundary(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages of one response with a multipart boundary (if any) replaced by a fixed one."""
    content_type = dict(messages[0]["headers"]).get(b"content-type", b"")
    if not content_type.startswith(b"multipart/byteranges; boundary="):
        return messages
    boundary = content_type.split(b"=", 1)[1]
    assert re.fullmatch(rb"[0-9a-f]{26}", boundary)
    return [_swap(message, boundary, b"B" * 26) for message in messages]


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_file_stops_when_the_client_disconnects(fw: SimpleNamespace, tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 1_000_000)
    response = fw.responses.FileResponse(path)
    response.chunk_size = 10
    messages = run_asgi(response, incoming=[{"type": "http.disconnect"}])
    assert len(messages) < 100_000  # stopped early, not the 100k chunks of the whole file


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
def test_file_spec_versions_same_messages(data_file: Path, spec_version: str) -> None:
    def run(fw: SimpleNamespace) -> list[dict[str, Any]]:
        return run_asgi(fw.responses.FileResponse(data_file), asgi={"spec_version": spec_version})

    assert run(TACHYON) == run(STARLETTE)


def test_file_background_task(both: Callable[..., Any], data_file: Path) -> None:
    ran: list[str] = []

    def build(fw: SimpleNamespace) -> Any:
        background = __import__(f"{fw.name}.background", fromlist=["BackgroundTask"]).BackgroundTask

        async def endpoint(request: Any) -> Any:
            return fw.responses.FileResponse(data_file, background=background(ran.append, fw.name))

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])

    both(build)("GET", "/")
    assert ran == ["starlette", "tachyon"]


def test_file_websocket_denial_same_messages(data_file: Path) -> None:
    def run(fw: SimpleNamespace) -> list[dict[str, Any]]:
        return run_asgi(fw.responses.FileResponse(data_file, status_code=403), type="websocket")

    messages = run(TACHYON)
    assert messages == run(STARLETTE)
    assert messages[0]["type"] == "websocket.http.response.start"


# --- FileResponse: Range requests ----------------------------------------------------------------

SINGLE_RANGES = [
    "bytes=0-0",
    "bytes=0-99",
    "bytes=100-",
    "bytes=-100",
    "bytes=-20000",
    "bytes=10240-",
    "bytes=10243-10243",
    "bytes=500-99999",
    "bytes=0-",
    "BYTES = 5-9",
    "bytes= 5 - 9 ",
    "bytes=5-9,",
    "bytes=,5-9",
    "bytes=0-1,0-1",
    "bytes=0-9,5-14",
    "bytes=0-9,10-19",
    "bytes=0-99,50-60",
    "bytes=x,0-9",
    "bytes=+5-9",
    "bytes=5_0-6_0",
    "bytes=0-18446744073709551616",
    "bytes=0-99999999999999999999999999999999999999",
]

MULTI_RANGES = [
    "bytes=0-9,20-29",
    "bytes=20-29,0-9",
    "bytes=0-9,-10",
    "bytes=0-0,2-2,4-4,6-6",
    "bytes=0-9,5-14,100-199",
    "bytes=100-199,0-9,150-299",
    "bytes=0-9,10240-",
    "bytes=0-9,  20-29  ,",
    ",".join(f"{i}-{i}" for i in range(0, 200, 2)).join(["bytes=", ""]),  # exactly 100 ranges
]

REFUSED_RANGES = [
    "bytes",  # no "="
    "items=0-9",
    "=0-9",
    "bytes=",
    "bytes=-",
    "bytes=,,,",
    "bytes=abc",
    "bytes=a-b",
    "bytes=9-5",
    "bytes=10-10,9-5",
    "bytes=10244-",
    "bytes=10244-10250",
    "bytes=99999999999999999999-",
    "bytes=-0",
    "bytes=5--3",  # int("-3") parses: an end before the start
    "bytes=--5",
    "bytes=0-9,20000-20001",
    "bytes=1" + "0" * 5000 + "-",  # past int()'s digit limit: ignored, so nothing is requested
    "bytes=0-1" + "0" * 5000,
    "bytes=0-9,-0",
]

IGNORED_RANGES = [
    ",".join(["0-0"] * 101).join(["bytes=", ""]),  # more than max_ranges: the whole file
    "bytes=" + "," * 100_000,
    "bytes=" + "0-1," * 5000,
]


@pytest.mark.parametrize("http_range", SINGLE_RANGES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_single_range(both: Callable[..., Any], data_file: Path, http_range: str, method: str) -> None:
    response = both(file_app(data_file))(method, "/", headers={"Range": http_range})
    assert response.status_code == 206
    if method == "GET":
        start, end = (int(x) for x in response.headers["content-range"].split(" ")[1].split("/")[0].split("-"))
        assert response.content == CONTENT[start : end + 1]


def _request_both(data_file: Path, method: str, headers: dict[str, str], **kwargs: Any) -> tuple[Any, Any]:
    responses = []
    for fw in FRAMEWORKS:
        client = fw.testclient.TestClient(file_app(data_file, **kwargs)(fw))
        responses.append(client.request(method, "/", headers=headers))
    return responses[0], responses[1]


@pytest.mark.parametrize("http_range", MULTI_RANGES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_multiple_ranges(data_file: Path, http_range: str, method: str) -> None:
    theirs, ours = _request_both(data_file, method, {"Range": http_range})
    assert unbound(raw_response(ours)) == unbound(raw_response(theirs))
    assert ours.status_code == 206
    if method == "GET":
        assert int(ours.headers["content-length"]) == len(ours.content)


def test_multipart_layout(data_file: Path) -> None:
    _, ours = _request_both(data_file, "GET", {"Range": "bytes=20-29,0-4,3-6"})
    boundary = ours.headers["content-type"].split("boundary=")[1]
    assert re.fullmatch("[0-9a-f]{26}", boundary)
    expected = (
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-6/10244\r\n\r\n".encode()
        + CONTENT[0:7]
        + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Range: bytes 20-29/10244\r\n\r\n".encode()
        + CONTENT[20:30]
        + f"\r\n--{boundary}--".encode()
    )
    assert ours.content == expected
    assert ours.headers["content-length"] == str(len(expected))


def test_multipart_text_content_type(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("abcdefghijklmnopqrstuvwxyz")
    theirs, ours = _request_both(path, "GET", {"Range": "bytes=0-1,5-6"})
    assert unbound(raw_response(ours)) == unbound(raw_response(theirs))
    assert b"Content-Type: text/plain; charset=utf-8\r\n" in ours.content


@pytest.mark.parametrize("http_range", REFUSED_RANGES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_refused_ranges(both: Callable[..., Any], data_file: Path, http_range: str, method: str) -> None:
    response = both(file_app(data_file))(method, "/", headers={"Range": http_range})
    assert response.status_code in (400, 416)


@pytest.mark.parametrize("http_range", IGNORED_RANGES)
def test_ignored_ranges(both: Callable[..., Any], data_file: Path, http_range: str) -> None:
    response = both(file_app(data_file))("GET", "/", headers={"Range": http_range})
    assert response.status_code == 200
    assert response.content == CONTENT


@pytest.mark.parametrize(
    ("http_range", "message"),
    [
        ("bytes", "Malformed range header."),
        ("pages=0-1", "Only support bytes range"),
        ("bytes=x", "Range header: range must be requested"),
        ("bytes=9-5", "Range header: start must be less than end"),
    ],
)
def test_malformed_range_messages(data_file: Path, http_range: str, message: str) -> None:
    _, ours = _request_both(data_file, "GET", {"Range": http_range})
    assert (ours.status_code, ours.text) == (400, message)


def test_unsatisfiable_range_headers(data_file: Path) -> None:
    _, ours = _request_both(data_file, "GET", {"Range": "bytes=20000-"})
    assert ours.status_code == 416
    assert ours.headers["content-range"] == "bytes */10244"
    assert ours.content == b""


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_range_ignored_for_other_methods(both: Callable[..., Any], data_file: Path, method: str) -> None:
    assert both(file_app(data_file))(method, "/", headers={"Range": "bytes=0-9"}).status_code == 200


def test_range_ignored_for_non_200(both: Callable[..., Any], data_file: Path) -> None:
    assert both(file_app(data_file, status_code=404))("GET", "/", headers={"Range": "bytes=0-9"}).status_code == 404


def test_if_range(both: Callable[..., Any], data_file: Path) -> None:
    request = both(file_app(data_file))
    plain = request("GET", "/")
    etag, last_modified = plain.headers["etag"], plain.headers["last-modified"]
    for if_range, status in [
        (etag, 206),
        (last_modified, 206),
        ("W/" + etag, 200),
        ('"other"', 200),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 200),
        ("", 200),
    ]:
        response = request("GET", "/", headers={"Range": "bytes=0-9", "If-Range": if_range})
        assert response.status_code == status, if_range
    assert request("GET", "/", headers={"If-Range": etag}).status_code == 200


def test_parse_range_header_directly() -> None:
    assert FileResponse._parse_range_header("bytes=0-9, 5-19, 30-", 40) == [(0, 20), (30, 40)]
    assert FileResponse._parse_range_header("bytes=-5", 40) == [(35, 40)]
    assert FileResponse._parse_range_header("bytes=" + "0-1," * 100, 40) == []
    with pytest.raises(RangeNotSatisfiable) as unsatisfiable:
        FileResponse._parse_range_header("bytes=40-", 40)
    assert unsatisfiable.value.max_size == 40
    with pytest.raises(MalformedRangeHeader) as malformed:
        FileResponse._parse_range_header("nonsense", 40)
    assert malformed.value.content == "Malformed range header."


def test_parse_range_header_agrees_with_starlette() -> None:
    theirs = STARLETTE.responses.FileResponse
    for header in SINGLE_RANGES + MULTI_RANGES + REFUSED_RANGES + IGNORED_RANGES:
        for size in (0, 1, 10, 10244):
            results = []
            for cls in (theirs, FileResponse):
                try:
                    results.append(("ok", cls._parse_range_header(header, size)))
                except Exception as exc:
                    results.append((type(exc).__name__, getattr(exc, "content", getattr(exc, "max_size", None))))
            assert results[0] == results[1], (header, size)


def test_generate_multipart_matches_starlette(data_file: Path) -> None:
    ranges = [(0, 10), (100, 1000), (10000, 10244)]
    for cls in (STARLETTE.responses.FileResponse, FileResponse):
        length, header = cls(data_file).generate_multipart(ranges, "b" * 26, 10244, "text/plain; charset=utf-8")
        assert length == 1517
        assert header(100, 1000) == (
            b"--bbbbbbbbbbbbbbbbbbbbbbbbbb\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Range: bytes 100-999/10244\r\n\r\n"
        )


def test_streaming_response_is_exported() -> None:
    import tachyon.responses

    for name in ("StreamingResponse", "FileResponse", "MalformedRangeHeader", "RangeNotSatisfiable"):
        assert name in tachyon.responses.__all__
    assert StreamingResponse.__mro__[1].__name__ == "Response"


range_items = st.one_of(
    st.from_regex(r"\A ?[0-9]{0,6} ?- ?[0-9]{0,6} ?\Z"),
    st.from_regex(r"\A[-0-9+_ ]{0,8}\Z"),
    st.text(alphabet="0123456789-, =+x", max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    units=st.sampled_from(["bytes", "BYTES", " bytes ", "items", ""]),
    items=st.lists(range_items, max_size=8),
    size=st.integers(min_value=0, max_value=2_000_000),
)
def test_parse_range_header_property(units: str, items: list[str], size: int) -> None:
    """Any header: the same outcome as Starlette, and either a 4xx reason or valid, disjoint, sorted ranges."""
    header = f"{units}={','.join(items)}"
    outcomes = []
    for cls in (STARLETTE.responses.FileResponse, FileResponse):
        try:
            outcomes.append(cls._parse_range_header(header, size))
        except (MalformedRangeHeader, STARLETTE.responses.MalformedRangeHeader) as exc:
            outcomes.append(("400", exc.content))
        except (RangeNotSatisfiable, STARLETTE.responses.RangeNotSatisfiable) as exc:
            outcomes.append(("416", exc.max_size))
    assert outcomes[0] == outcomes[1]
    ranges = outcomes[1]
    if isinstance(ranges, list):
        assert all(0 <= start < end <= size for start, end in ranges)
        if len(ranges) > 1:
            assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))
