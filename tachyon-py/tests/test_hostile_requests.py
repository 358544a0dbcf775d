"""Hostile requests against real servers: each ends in a 4xx, a correct answer or a clean close.

The cases of the hardening issue, sent as raw bytes over loopback to `python -m tachyon` under
the default server (on Linux the native one), under Granian over RSGI (`--server granian`) and
under uvicorn (`--server uvicorn`): malformed and
non-UTF-8 paths, 10,000 query parameters, huge and numerous headers, duplicate Host, CL+TE
smuggling, bodies over `max_body_size`, slow and silent clients, bad JSON, multipart bombs,
StaticFiles traversal, Range abuse, CR/LF from user input in a response header and bad hosts
behind TrustedHostMiddleware. After all of them the worker that served the first request
still serves (same pid), and nothing is left in, or held open in, the server's temporary
directory (a fresh one per server).

`pytest tachyon-py/tests/test_hostile_requests.py --write-security-table` also writes what each
case got on each server, and how long it took, into docs/security.md (between its
`hostile: begin` / `hostile: end` markers); the times are what this run measured, never checked.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _servers import Server, free_port, serving, tachyon_cli

pytest.importorskip("granian")
pytest.importorskip("uvicorn")

SECRET = b"TOPSECRET-not-under-static"
APP = textwrap.dedent(
    """
    import gc
    import os
    import tempfile
    from pathlib import Path

    from tachyon import JSONResponse, Mount, PlainTextResponse, Response, Route, Router, TachyonEngine
    from tachyon.datastructures import UploadFile
    from tachyon.middleware.trustedhost import TrustedHostMiddleware
    from tachyon.staticfiles import StaticFiles

    HERE = Path(__file__).parent


    async def echo(request):
        return Response(await request.body(), media_type="application/octet-stream")


    async def path(request):
        return JSONResponse({"path": request.url.path, "rest": request.path_params["rest"]})


    async def query(request):
        return JSONResponse({"items": len(request.query_params.multi_items())})


    async def headers(request):
        return JSONResponse({"count": len(request.headers.raw), "longest": max(len(v) for _, v in request.headers.raw)})


    async def parse_json(request):
        data = await request.json()
        return JSONResponse({"type": type(data).__name__})


    async def form(request):
        async with request.form() as data:
            fields = []
            for key, value in data.multi_items():
                if isinstance(value, UploadFile):
                    fields.append([key, "file", value.filename, len(await value.read())])
                else:
                    fields.append([key, "field", len(value)])
        return JSONResponse({"fields": len(fields), "first": fields[:3]})


    async def reflect_header(request):
        # An app that puts user input into a response header unchecked.
        return PlainTextResponse("reflected", headers={"x-echo": request.query_params["v"]})


    async def diag(request):
        tmp = tempfile.gettempdir()
        gc.collect()
        fds = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                fds.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
        return JSONResponse({
            "pid": os.getpid(),
            "temp_fds": [t for t in fds if t.startswith(tmp + os.sep)],
            "temp_files": os.listdir(tmp),
        })


    trusted = TrustedHostMiddleware(Router([Route("/", echo)]), allowed_hosts=["example.com", "*.example.org"])
    app = TachyonEngine(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/limited", echo, methods=["POST"], max_body_size=1000),
            Route("/p/{rest:path}", path),
            Route("/query", query),
            Route("/headers", headers),
            Route("/json", parse_json, methods=["POST"]),
            Route("/form", form, methods=["POST"]),
            Route("/reflect", reflect_header),
            Route("/_diag", diag),
            Mount("/static", app=StaticFiles(directory=HERE / "static")),
            Mount("/trusted", app=trusted),
        ]
    )
    """
)

# (label used in ids and the table, extra CLI arguments)
DEPLOYMENTS = [("default", ()), ("granian", ("--server", "granian")), ("uvicorn", ("--server", "uvicorn"))]
DEADLINE = 1.0
CLOSED_WITHIN = 15.0  # generous: only "closed within" is checked, never how fast
STATIC_BODY = b"0123456789" * 100  # static/data.bin: 1000 bytes


@dataclass
class Outcome:
    """What one case got on one server: the status (None: closed without one), the reply."""

    status: int | None
    reply: bytes
    seconds: float
    closed: bool

    @property
    def head(self) -> bytes:
        return self.reply.partition(b"\r\n\r\n")[0]

    @property
    def body(self) -> bytes:
        return self.reply.partition(b"\r\n\r\n")[2]

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        if self.status is None:
            return "clean close"
        return str(self.status) + ("" if self.closed else ", kept open") if self.status else "?"


RESULTS: dict[str, dict[str, tuple[str, float]]] = {}
"""case -> server -> (outcome text, seconds), for the generated table."""
CASES: list[str] = []


def exchange(port: int, data: bytes, *, pause_after: int | None = None, half_close: bool = False) -> Outcome:
    """Send `data` (all of it, or the first `pause_after` bytes and then nothing more), read
    until the server closes or one whole response has arrived: the outcome."""
    with socket.create_connection(("127.0.0.1", port), timeout=CLOSED_WITHIN) as sock:
        start = time.monotonic()
        sock.sendall(data if pause_after is None else data[:pause_after])
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        closed = False
        try:
            while True:
                if complete_response(reply):
                    break
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                reply += chunk
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            pytest.fail(f"no answer and no close after {CLOSED_WITHIN}s; got {reply[:300]!r}")
        seconds = time.monotonic() - start
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None
    assert status is not None or not reply, f"not an HTTP response: {reply[:300]!r}"
    return Outcome(status, reply, seconds, closed or b"\r\nconnection: close" in reply.lower())


def complete_response(reply: bytes) -> bool:
    """Whether `reply` holds one whole response with a Content-Length (or chunked, ended)."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    if not sep:
        return False
    fields = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields.setdefault(name.strip().lower(), value.strip())
    if b"content-length" in fields:
        return len(body) >= int(fields[b"content-length"])
    if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        return body.endswith(b"0\r\n\r\n")
    return False


def get(target: bytes, *headers: bytes, host: bytes = b"testserver") -> bytes:
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: " + host, *headers, b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def post(target: bytes, body: bytes, *headers: bytes, chunked: bool = False) -> bytes:
    framing = [b"Transfer-Encoding: chunked"] if chunked else [b"Content-Length: " + str(len(body)).encode()]
    lines = [b"POST " + target + b" HTTP/1.1", b"Host: testserver", *framing, *headers, b"Connection: close"]
    if chunked:
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks(body, 4096)) + b"0\r\n\r\n"
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


BOUNDARY = b"hostileboundary"
MULTIPART = b"Content-Type: multipart/form-data; boundary=" + BOUNDARY


def part(disposition: bytes, value: bytes) -> bytes:
    return b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n" + value + b"\r\n"


END_PARTS = b"--" + BOUNDARY + b"--\r\n"


@pytest.fixture(scope="module")
def table(request: pytest.FixtureRequest) -> Iterator[None]:
    """Writes docs/security.md's generated table at the end, if asked and every case passed."""
    yield
    if request.config.getoption("--write-security-table") and request.session.testsfailed == 0:
        write_security_table()


@pytest.fixture(scope="module", params=DEPLOYMENTS, ids=[d[0] for d in DEPLOYMENTS])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, table: None) -> Iterator[Server]:
    label, extra = request.param
    app_dir = tmp_path_factory.mktemp(f"hostile-requests-{label}")
    (app_dir / "app.py").write_text(APP)
    (app_dir / "static").mkdir()
    (app_dir / "static" / "data.bin").write_bytes(STATIC_BODY)
    (app_dir / "secret.txt").write_bytes(SECRET)
    (app_dir / "static-secret").mkdir()  # a sibling sharing the prefix (CVE-2023-29159)
    (app_dir / "static-secret" / "s.txt").write_bytes(SECRET)
    temp_dir = tmp_path_factory.mktemp(f"hostile-tmp-{label}")
    port = free_port()
    timeouts = ("--header-timeout", str(DEADLINE), "--body-timeout", str(DEADLINE))
    args = tachyon_cli("app:app", app_dir, port, *timeouts, *extra)
    with serving(args, app_dir / "server.log", port, env={"TMPDIR": str(temp_dir)}) as running:
        running.label = label  # type: ignore[attr-defined]
        first = diag(port)
        yield running
        # Whatever the clients did, the same worker still serves, and leaves no temp file.
        last = settled_diag(port)
        assert last["pid"] == first["pid"], "the worker was replaced"
        assert last["temp_fds"] == [] and last["temp_files"] == [], last
        output = running.output()
    # The one traceback logged is the app's own error (the CR/LF case's refused header).
    assert output.count("Traceback") == output.count("ValueError: Invalid header value for 'x-echo'") <= 1, output
    assert not os.listdir(temp_dir)


def diag(port: int) -> dict[str, Any]:
    outcome = exchange(port, get(b"/_diag"))
    assert outcome.status == 200, outcome.reply
    return outcome.json()  # type: ignore[no-any-return]


def settled_diag(port: int) -> dict[str, Any]:
    """The diagnostics once no temp file is open or present (a bounded wait: a worker thread
    may still be closing the last upload's file)."""
    for _ in range(50):
        now = diag(port)
        if not now["temp_fds"] and not now["temp_files"]:
            break
        time.sleep(0.1)
    return now


def case(title: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Names a test's row in the generated table."""

    def mark(fn: Callable[..., None]) -> Callable[..., None]:
        fn.case_title = title  # type: ignore[attr-defined]
        return fn

    return mark


@pytest.fixture
def record(request: pytest.FixtureRequest, server: Server) -> Callable[[Outcome, str | None], Outcome]:
    """`record(outcome, text)`: keeps the case's row for the table (the text defaults to the status)."""
    title = getattr(request.function, "case_title", request.function.__name__)
    if title not in CASES:
        CASES.append(title)

    def keep(outcome: Outcome, text: str | None = None) -> Outcome:
        RESULTS.setdefault(title, {})[server.label] = (text or outcome.describe(), outcome.seconds)  # type: ignore[attr-defined]
        return outcome

    return keep


Record = Callable[..., Outcome]


# --- paths and query strings -------------------------------------------------------------------


@case("malformed percent-encoding in the path (`/p/%zz%4`)")
def test_malformed_percent_encoding(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, get(b"/p/%zz%4")))
    assert outcome.status == 200 and outcome.json()["rest"] == "%zz%4", outcome.reply


@case("invalid UTF-8 in the path, percent-encoded (`/p/%ff%fe`)")
def test_invalid_utf8_percent_encoded(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, get(b"/p/%ff%fe")))
    # Decoded as the server decodes it (invalid bytes replaced), and routed.
    assert outcome.status == 200 and outcome.json()["rest"] == "\ufffd\ufffd", outcome.reply


@case("invalid UTF-8 in the path, raw bytes (`/p/\\xff\\xfe`)")
def test_invalid_utf8_raw_bytes(server: Server, record: Record) -> None:
    outcome = exchange(server.port, get(b"/p/\xff\xfe"))
    if outcome.status == 200:
        record(outcome, f"200 (path {outcome.json()['rest']!r})")
        assert outcome.json()["rest"] in ("\xff\xfe", "\ufffd\ufffd")
    else:
        record(outcome)
        assert outcome.status == 400, outcome.reply


@case("10,000 query parameters")
def test_ten_thousand_query_parameters(server: Server, record: Record) -> None:
    # 40 KB of query string: under hyper's URI limit (64 KiB, a 414 beyond).
    target = b"/query?" + b"&".join(b"a=%d" % (i % 10) for i in range(10_000))
    outcome = record(exchange(server.port, get(target)))
    assert outcome.status == 200 and outcome.json() == {"items": 10_000}, outcome.reply[:300]


# --- headers -----------------------------------------------------------------------------------


@case("one header value of 100 KB")
def test_huge_header_value(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, get(b"/headers", b"X-Big: " + b"a" * 100_000)))
    if outcome.status == 200:
        assert outcome.json()["longest"] == 100_000
    else:
        assert outcome.status in (400, 431), outcome.reply[:300]


@case("a request head of 1 MB (one header)")
def test_request_head_over_the_cap(server: Server, record: Record) -> None:
    # Over twice Granian's HTTP/1 buffer (417,792 bytes: hyper checks it between reads, so a
    # head that arrives in one read can pass up to about twice that) and over
    # DeadlineProtocol.max_head_bytes. The server answers while the client still sends: the
    # close may reset the connection before the client reads the 431.
    outcome = record(exchange(server.port, get(b"/headers", b"X-Big: " + b"a" * 1_000_000)))
    assert outcome.status in (None, 431) and outcome.closed, outcome.reply[:300]


@case("500 headers")
def test_five_hundred_headers(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, get(b"/headers", *(b"X-H%d: v" % i for i in range(500)))))
    if outcome.status == 200:
        assert outcome.json()["count"] >= 500
    else:
        assert outcome.status in (400, 431), outcome.reply[:300]


@case("two Host headers, behind TrustedHostMiddleware")
def test_duplicate_host(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, get(b"/trusted/", b"Host: evil.example", host=b"example.com")))
    assert outcome.status == 400, outcome.reply[:300]


@case("Content-Length and Transfer-Encoding together (smuggling)")
def test_cl_te_smuggling(server: Server, record: Record) -> None:
    smuggled = b"GET /p/smuggled HTTP/1.1\r\nHost: testserver\r\n\r\n"
    data = (
        b"POST /echo HTTP/1.1\r\nHost: testserver\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=CLOSED_WITHIN) as sock:
        start = time.monotonic()
        sock.sendall(data)
        # Read to the close as test_hostile_clients.exchange does, but here a timeout fails
        # the test: no server gets the allowance for a complete reply left open.
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass
        outcome = Outcome(int(reply.split(b" ", 2)[1]) if reply else None, reply, time.monotonic() - start, closed=True)
    # Either refused, or read by Transfer-Encoding (an empty body) and then closed: the
    # smuggled request is never answered. The native server refuses it, as uvicorn does.
    assert b"smuggled" not in reply, reply
    assert reply.count(b"HTTP/1.1 ") <= 1, reply
    if server.label == "default" and sys.platform.startswith("linux"):  # type: ignore[attr-defined]
        assert outcome.status == 400, reply
        assert b"\r\nconnection: close\r\n" in reply.lower(), reply
    if outcome.status == 200:
        record(outcome, "200 (empty body: read as chunked), then closed")
        assert outcome.body == b"", reply
    else:
        record(outcome)
        assert outcome.status in (None, 400), reply


# --- bodies ------------------------------------------------------------------------------------


@case("body over `max_body_size` (1000), declared by Content-Length")
def test_body_over_limit_declared(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, post(b"/limited", b"x" * 5000)))
    assert outcome.status == 413, outcome.reply[:300]


@case("body over `max_body_size` (1000), chunked")
def test_body_over_limit_chunked(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, post(b"/limited", b"x" * 20_000, chunked=True)))
    assert outcome.status == 413, outcome.reply[:300]


@case("connection that sends nothing (header deadline 1 s)")
def test_silent_connection_is_cut_off(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, b""))
    assert outcome.status in (None, 408) and outcome.closed, outcome.reply


@case("half the headers, then nothing (header deadline 1 s)")
def test_slow_headers(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, get(b"/headers"), pause_after=30))
    assert outcome.status in (None, 408) and outcome.closed, outcome.reply


@case("half the body, then nothing (body deadline 1 s)")
def test_slow_body(server: Server, record: Record) -> None:
    data = post(b"/echo", b"x" * 1000)
    outcome = record(exchange(server.port, data, pause_after=len(data) - 500))
    assert outcome.status in (None, 408) and outcome.closed, outcome.reply


# --- JSON --------------------------------------------------------------------------------------


@case("invalid JSON")
def test_invalid_json(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, post(b"/json", b'{"a": ')))
    assert outcome.status == 400, outcome.reply


@case("JSON nested 100,000 deep")
def test_deep_json(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, post(b"/json", b"[" * 100_000 + b"]" * 100_000)))
    assert outcome.status == 400, outcome.reply[:300]


@case("non-finite JSON numbers (`[NaN, Infinity, 1e400]`)")
def test_non_finite_json(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, post(b"/json", b"[NaN, Infinity, -Infinity, 1e400]")))
    assert outcome.status == 400, outcome.reply


@case("JSON that is not UTF-8")
def test_json_not_utf8(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, post(b"/json", b'{"a": "\xff\xfe"}')))
    assert outcome.status == 400, outcome.reply


# --- multipart ---------------------------------------------------------------------------------


@case("multipart: 5,000 tiny parts (`max_fields` 1000)")
def test_multipart_many_parts(server: Server, record: Record) -> None:
    body = b"".join(part(b'name="f%d"' % i, b"v") for i in range(5000)) + END_PARTS
    outcome = record(exchange(server.port, post(b"/form", body, MULTIPART)))
    assert outcome.status == 400, outcome.reply[:300]


@case("multipart: 5,000 tiny files (`max_files` 1000)")
def test_multipart_many_files(server: Server, record: Record) -> None:
    body = b"".join(part(b'name="f%d"; filename="f%d.txt"' % (i, i), b"v") for i in range(5000)) + END_PARTS
    outcome = record(exchange(server.port, post(b"/form", body, MULTIPART)))
    assert outcome.status == 400, outcome.reply[:300]


@case("multipart: one 2 MiB field without a filename (`max_part_size` 1 MiB)")
def test_multipart_huge_field(server: Server, record: Record) -> None:
    body = part(b'name="big"', b"a" * (2 * 1024 * 1024)) + END_PARTS
    outcome = record(exchange(server.port, post(b"/form", body, MULTIPART)))
    assert outcome.status == 400, outcome.reply[:300]


@case("multipart: one 3 MiB file (spooled to disk)")
def test_multipart_huge_file(server: Server, record: Record) -> None:
    body = part(b'name="up"; filename="big.bin"', b"a" * (3 * 1024 * 1024)) + END_PARTS
    outcome = record(exchange(server.port, post(b"/form", body, MULTIPART)))
    assert outcome.status == 200, outcome.reply[:300]
    assert outcome.json()["first"] == [["up", "file", "big.bin", 3 * 1024 * 1024]]


@case("multipart: the final boundary missing")
def test_multipart_missing_final_boundary(server: Server, record: Record) -> None:
    body = part(b'name="a"', b"1") + part(b'name="up"; filename="x.bin"', b"b" * 200_000)
    outcome = record(exchange(server.port, post(b"/form", body, MULTIPART)))
    assert outcome.status == 400, outcome.reply[:300]


@case("multipart: a part without a name")
def test_multipart_part_without_name(server: Server, record: Record) -> None:
    body = b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n" + END_PARTS
    outcome = exchange(server.port, post(b"/form", body, MULTIPART))
    if outcome.status == 200:
        # Read as Starlette reads it: a field named "".
        assert outcome.json()["first"] == [["", "field", 5]], outcome.reply
        record(outcome, '200 (a field named `""`)')
    else:
        record(outcome)
        assert outcome.status == 400, outcome.reply


@case("multipart: `../` in a filename")
def test_multipart_dotdot_filename(server: Server, record: Record) -> None:
    body = part(b'name="up"; filename="../../../etc/passwd"', b"x" * 100) + END_PARTS
    outcome = record(
        exchange(server.port, post(b"/form", body, MULTIPART)), "200 (the name is data: nothing is written there)"
    )
    # The filename is the client's text, handed to the app as is; the file itself is an
    # unnamed temporary file (the teardown checks the temporary directory).
    assert outcome.status == 200 and outcome.json()["first"] == [["up", "file", "../../../etc/passwd", 100]]


# --- StaticFiles -------------------------------------------------------------------------------

TRAVERSALS = [
    b"/static/../secret.txt",
    b"/static/%2e%2e/secret.txt",
    b"/static/%2E%2E%2Fsecret.txt",
    b"/static/..%2fsecret.txt",
    b"/static/..%5csecret.txt",
    b"/static/..\\secret.txt",
    b"/static/%252e%252e%252fsecret.txt",
    b"/static/%c0%ae%c0%ae/secret.txt",
    b"/static/.%2e/secret.txt",
    b"/static/....//secret.txt",
    b"/static/%2fetc%2fpasswd",
    b"/static//etc/passwd",
    b"/static/data.bin%00.txt",
    b"/static-secret/s.txt",
    b"/static/../static-secret/s.txt",
    b"/static/%2e%2e/static-secret/s.txt",
]


@case("StaticFiles traversal, 16 encodings (`..`, `%2e%2e`, `%2f`, `%5c`, double-encoded, overlong UTF-8, NUL)")
def test_static_traversal(server: Server, record: Record) -> None:
    seen: dict[int | None, int] = {}
    slowest = 0.0
    for target in TRAVERSALS:
        outcome = exchange(server.port, get(target))
        assert SECRET not in outcome.reply and b"root:" not in outcome.reply, (target, outcome.reply)
        assert outcome.status in (400, 404), (target, outcome.reply[:300])
        seen[outcome.status] = seen.get(outcome.status, 0) + 1
        slowest = max(slowest, outcome.seconds)
    # And the file that is there is served.
    served = exchange(server.port, get(b"/static/data.bin"))
    assert served.status == 200 and served.body == STATIC_BODY
    text = ", ".join(f"{n}x {status}" for status, n in sorted(seen.items(), key=lambda kv: kv[0] or 0))
    record(Outcome(None, b"", slowest, True), f"{text} (slowest shown)")


# --- Range -------------------------------------------------------------------------------------


@case("Range: 1,000 one-byte ranges (over `max_ranges` 100)")
def test_range_too_many(server: Server, record: Record) -> None:
    ranges = b",".join(b"%d-%d" % (i, i) for i in range(1000))
    outcome = record(exchange(server.port, get(b"/static/data.bin", b"Range: bytes=" + ranges)))
    assert outcome.status == 200 and outcome.body == STATIC_BODY


@case("Range: 100 overlapping ranges")
def test_range_overlapping(server: Server, record: Record) -> None:
    ranges = b",".join(b"0-%d" % (900 + i) for i in range(100))
    outcome = record(exchange(server.port, get(b"/static/data.bin", b"Range: bytes=" + ranges)))
    # Merged into one range: one part, never 100 copies.
    assert outcome.status == 206 and outcome.body == STATIC_BODY, outcome.reply[:300]


@case("Range: start past the end")
def test_range_past_end(server: Server, record: Record) -> None:
    outcome = record(exchange(server.port, get(b"/static/data.bin", b"Range: bytes=5000-6000")))
    assert outcome.status == 416, outcome.reply[:300]


@case("Range: malformed (`bytes=abc`, 30-digit numbers)")
def test_range_malformed(server: Server, record: Record) -> None:
    outcome = exchange(server.port, get(b"/static/data.bin", b"Range: bytes=abc"))
    assert outcome.status == 400, outcome.reply[:300]
    huge = exchange(server.port, get(b"/static/data.bin", b"Range: bytes=0-" + b"9" * 30))
    assert huge.status == 206 and huge.body == STATIC_BODY, huge.reply[:300]
    record(outcome, f"{outcome.status}; {huge.status} (to the end of the file)")


# --- response headers from user input ----------------------------------------------------------


@case("CR/LF from the query string put into a response header by the app")
def test_crlf_injection_into_response_header(server: Server, record: Record) -> None:
    outcome = exchange(server.port, get(b"/reflect?v=a%0D%0ASet-Cookie:%20evil=1%0D%0A%0D%0Ainjected"))
    assert b"evil=1" not in outcome.head and b"injected" not in outcome.reply, outcome.reply
    # The header is refused where the app sets it (a ValueError: a 500, the app's error),
    # never sent split.
    assert outcome.status == 500, outcome.reply
    record(outcome, "500 (the app's header refused; nothing injected)")


# --- hosts -------------------------------------------------------------------------------------

BAD_HOSTS = [
    b"ex\xe4mple.com",  # latin-1, not ASCII
    "exämple.com".encode(),  # UTF-8
    b"xn--exmple-cua.com",  # the punycode of that: a different host
    b"example.com:abc",
    b"[::1",
    b"example.com@evil.example",
    b"evil.example#example.com",
    b"example.com.evil.example",
    b"",
]


@case("TrustedHost: 9 non-ASCII or malformed hosts (UTF-8, latin-1, bad port, `@`, `#`, unclosed `[`, empty)")
def test_trusted_host_bad_hosts(server: Server, record: Record) -> None:
    seen: dict[int | None, int] = {}
    slowest = 0.0
    for host in BAD_HOSTS:
        outcome = exchange(server.port, get(b"/trusted/", host=host))
        assert outcome.status == 400, (host, outcome.reply[:300])
        seen[outcome.status] = seen.get(outcome.status, 0) + 1
        slowest = max(slowest, outcome.seconds)
    # A port out of range is not the middleware's business: it checks the host part, as
    # Starlette does.
    for good in (b"example.com", b"example.com:8080", b"a.example.org", b"example.com:99999"):
        assert exchange(server.port, get(b"/trusted/", host=good)).status == 200, good
    text = ", ".join(f"{n}x {status}" for status, n in seen.items())
    record(Outcome(None, b"", slowest, True), f"{text} (slowest shown); allowed hosts 200")


# --- the generated table -----------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"
BEGIN, END = "<!-- hostile: begin -->", "<!-- hostile: end -->"
SERVER_NAMES = {
    "default": "default (native)",
    "granian": "Granian, RSGI (`--server granian`)",
    "uvicorn": "uvicorn (`--server uvicorn`)",
}


def write_security_table() -> None:
    """Puts this run's outcomes between the markers in docs/security.md."""
    servers = [label for label, _ in DEPLOYMENTS]
    lines = [
        "Generated by `pytest tachyon-py/tests/test_hostile_requests.py --write-security-table` "
        f"on {time.strftime('%Y-%m-%d', time.gmtime())} (header and body deadlines 1 s; times in "
        "seconds, from the first byte sent to the answer or the close, on a shared machine).",
        "",
        "| case | " + " | ".join(SERVER_NAMES[s] for s in servers) + " |",
        "|---|" + "---|" * len(servers),
    ]
    for title in CASES:
        cells = []
        for s in servers:
            text, seconds = RESULTS.get(title, {}).get(s, ("not run", 0.0))
            cells.append(f"{text}, {seconds:.2f} s")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    block = BEGIN + "\n" + "\n".join(lines) + "\n" + END
    text = DOCS.read_text()
    if BEGIN not in text or END not in text:
        raise AssertionError(f"{DOCS} has no {BEGIN} / {END} markers")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOCS.write_text(text[:start] + block + text[end:])
