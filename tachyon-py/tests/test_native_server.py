"""The native server (`--server native`) on real sockets, against uvicorn serving the same app.

Each server runs in a subprocess on a free loopback port. The native server must answer as
uvicorn does: same status, same headers (as a multiset, without `date` and `server`, which
each server writes its own way), same body; and the ASGI scope it builds must match
uvicorn's. Handlers that really suspend, use `loop.add_reader`, `run_in_executor` or
background tasks run on the native server's one thread.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _servers import Response, free_port, request, serving, tachyon_cli

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the native server is Linux only")

APP_SOURCE = textwrap.dedent(
    """
    import asyncio
    import contextlib
    import contextvars
    import socket
    import threading

    from tachyon import JSONResponse, Middleware, PlainTextResponse, Response, Route, TachyonEngine
    from tachyon.background import BackgroundTask
    from tachyon.middleware.base import BaseHTTPMiddleware
    from tachyon.responses import FileResponse, StreamingResponse

    EVENTS = []
    REQUEST_ID = contextvars.ContextVar("request_id", default=None)


    @contextlib.asynccontextmanager
    async def lifespan(app):
        EVENTS.append("startup")
        yield {"greeting": "hello from lifespan"}


    async def hello(request):
        return JSONResponse({"message": "Hello, World!"})


    async def user(request):
        return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


    async def echo(request):
        return JSONResponse(await request.json())


    async def suspends(request):
        await asyncio.sleep(0.001)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_later(0.001, future.set_result, "resolved later")
        return PlainTextResponse(await future)


    async def reader(request):
        # A driver-style round trip: the other end answers from a thread, this end waits
        # for it with loop.add_reader.
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        ours.setblocking(False)

        def peer():
            data = theirs.recv(100)
            theirs.sendall(data.upper())

        threading.Thread(target=peer, daemon=True).start()
        ours.send(b"ping")
        answered = loop.create_future()
        loop.add_reader(ours.fileno(), lambda: answered.done() or answered.set_result(ours.recv(100)))
        try:
            data = await answered
        finally:
            loop.remove_reader(ours.fileno())
            ours.close()
            theirs.close()
        return PlainTextResponse(data.decode())


    async def executor(request):
        loop = asyncio.get_running_loop()
        value = await loop.run_in_executor(None, sum, range(10))
        return JSONResponse({"sum": value, "thread": threading.current_thread() is threading.main_thread()})


    def sync_endpoint(request):
        # A plain function endpoint runs in the thread pool (anyio, which needs a current task).
        return JSONResponse({"main": threading.current_thread() is threading.main_thread()})


    async def current(request):
        # The request runs in an asyncio task from its first step on, and stays in that one.
        # asyncio.timeout and anyio's cancel scopes check that they exit in the task they
        # were entered in.
        first = asyncio.current_task()
        async with asyncio.timeout(30):
            await asyncio.sleep(0)
        import anyio

        with anyio.CancelScope():
            await anyio.sleep(0)
        return JSONResponse({"task": first is not None, "same": asyncio.current_task() is first})


    async def boom(request):
        raise RuntimeError("boom")


    async def boom_later(request):
        await asyncio.sleep(0)
        raise RuntimeError("boom later")


    def record(value):
        EVENTS.append(value)


    async def background(request):
        return PlainTextResponse("sent", background=BackgroundTask(record, "background ran"))


    async def events(request):
        return JSONResponse(EVENTS)


    async def state(request):
        return JSONResponse({"greeting": request.state.greeting})


    async def context(request):
        # Each request has its own context: a value set by an earlier request is not seen.
        before = REQUEST_ID.get()
        REQUEST_ID.set(request.query_params["id"])
        await asyncio.sleep(0)
        return JSONResponse({"before": before, "after": REQUEST_ID.get()})


    async def stream(request):
        async def chunks():
            for i in range(3):
                await asyncio.sleep(0)
                yield f"chunk {i};".encode()

        return StreamingResponse(chunks(), media_type="text/plain")


    async def big_stream(request):
        # More than the server queues at once (64 KiB): `send` waits for the client to read.
        async def chunks():
            for i in range(32):
                yield bytes([65 + i % 26]) * 65536

        return StreamingResponse(chunks(), media_type="application/octet-stream")


    async def hang(request):
        # Waits until its client goes away: then it is cancelled, and its `finally` runs.
        tag = request.query_params["tag"]
        record(f"{tag} started")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            record(f"{tag} cancelled")
            raise
        finally:
            record(f"{tag} finally, disconnected={await request.is_disconnected()}")
        return PlainTextResponse("never")


    async def stream_upload(request):
        chunks = total = 0
        async for chunk in request.stream():
            chunks += 1
            total += len(chunk)
        return JSONResponse({"chunks": chunks, "total": total})


    RELEASE = asyncio.Event()


    async def stall_upload(request):
        # Reads one part of the body, waits for /release, then reads the rest.
        stream = request.stream()
        first = await stream.__anext__()
        record(f"stall got {len(first) > 0}")
        try:
            await RELEASE.wait()
            async for _ in stream:
                pass
        finally:
            record("stall finally")
        return PlainTextResponse("read it all")


    async def release(request):
        RELEASE.set()
        return PlainTextResponse("released")


    async def file(request):
        # 1 MiB, written beside this module by the tests.
        return FileResponse(__file__.rsplit("/", 1)[0] + "/big.bin")


    async def huge_file(request):
        # 16 MiB, written beside this module by the tests: more than the sockets can buffer.
        return FileResponse(__file__.rsplit("/", 1)[0] + "/huge.bin")


    async def upload(request):
        body = await request.body()
        return JSONResponse({"length": len(body), "sum": sum(body[::4096])})


    async def scope(request):
        s = request.scope
        return JSONResponse({
            "type": s["type"],
            "asgi": s["asgi"],
            "http_version": s["http_version"],
            "server": list(s["server"]),
            "client_host": s["client"][0],
            "scheme": s["scheme"],
            "method": s["method"],
            "root_path": s["root_path"],
            "path": s["path"],
            "raw_path": s["raw_path"].decode("latin-1"),
            "query_string": s["query_string"].decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in s["headers"]],
            "state": sorted(s["state"]),
        })


    ROUTES = [
        Route("/", hello),
        Route("/users/{id:int}", user),
        Route("/echo", echo, methods=["POST"]),
        Route("/suspends", suspends),
        Route("/reader", reader),
        Route("/executor", executor),
        Route("/sync", sync_endpoint),
        Route("/current-task", current),
        Route("/boom", boom),
        Route("/boom-later", boom_later),
        Route("/background", background),
        Route("/events", events),
        Route("/state", state),
        Route("/context", context),
        Route("/stream", stream),
        Route("/big-stream", big_stream),
        Route("/upload", upload, methods=["POST"]),
        Route("/hang", hang),
        Route("/file", file),
        Route("/huge-file", huge_file),
        Route("/stream-upload", stream_upload, methods=["POST"]),
        Route("/stall-upload", stall_upload, methods=["POST"]),
        Route("/release", release),
        Route("/scope/{rest:path}", scope),
    ]

    app = TachyonEngine(routes=ROUTES, lifespan=lifespan)


    TASKS_MADE = []


    def counting_factory(loop, coro, **kwargs):
        task = asyncio.Task(coro, loop=loop, **kwargs)
        TASKS_MADE.append(task)
        return task


    @contextlib.asynccontextmanager
    async def factory_lifespan(app):
        asyncio.get_running_loop().set_task_factory(counting_factory)
        yield


    async def made(request):
        return JSONResponse({"made": len(TASKS_MADE), "mine": asyncio.current_task() in TASKS_MADE})


    factory_app = TachyonEngine(routes=[Route("/made", made), Route("/suspends", suspends)], lifespan=factory_lifespan)


    class Tag(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            response = await call_next(request)
            response.headers["x-middleware"] = "yes"
            return response


    mw_app = TachyonEngine(routes=ROUTES, lifespan=lifespan, middleware=[Middleware(Tag)])


    def describe(value):
        # A JSON form of a scope value that keeps its type (objects by their type name).
        if isinstance(value, bytes):
            return ["bytes", value.decode("latin-1")]
        if value is None or isinstance(value, (str, int, float)):
            return value
        if isinstance(value, (list, tuple)):
            return [type(value).__name__, [describe(item) for item in value]]
        if isinstance(value, dict):
            return ["dict", [[describe(key), describe(item)] for key, item in value.items()]]
        return type(value).__name__


    def dump(scope):
        return [[key, describe(value)] for key, value in scope.items()]


    async def dump_now(request):
        return JSONResponse(dump(request.scope))


    async def dump_later(request):
        await asyncio.sleep(0.01)
        return JSONResponse(dump(request.scope))


    async def dump_after_headers(request):
        # Something else than `scope` read first.
        first = [request.headers.get("x-one"), list(request.client)[0], request.url.path]
        return JSONResponse({"first": first, "scope": dump(request.scope)})


    async def dump_ways(request):
        s = request.scope
        s["added"] = b"mine"
        copied = dict(s)
        copied["only-in-copy"] = 1
        del s["added"]
        return JSONResponse({
            "len": len(s),
            "keys": list(s),
            "has": ["headers" in s, "added" in s, "client" in s],
            "get": [describe(s.get("client")), s.get("missing", "default")],
            "copy": dump(copied),
            "shallow": dump(s.copy()),
            "items": [[k, describe(v)] for k, v in s.items()] == dump(s),
            "same": s is request.scope,
        })


    async def dump_untouched(request):
        return JSONResponse(sorted(vars(request)))


    async def dump_raises(request):
        raise ValueError("dumped by the handler")


    async def dump_missing(request, exc):
        return JSONResponse({"status": exc.status_code, "scope": dump(request.scope)}, status_code=exc.status_code)


    async def dump_error(request, exc):
        return JSONResponse({"error": str(exc), "scope": dump(request.scope)}, status_code=500)


    async def dump_lifespan(app):
        yield {"greeting": "hello from lifespan"}


    dump_app = TachyonEngine(
        routes=[
            Route("/now/{rest:path}", dump_now),
            Route("/later", dump_later),
            Route("/after-headers", dump_after_headers),
            Route("/ways", dump_ways),
            Route("/untouched", dump_untouched),
            Route("/raises", dump_raises),
            Route("/post-only", dump_now, methods=["POST"]),
        ],
        exception_handlers={404: dump_missing, 405: dump_missing, ValueError: dump_error},
        lifespan=contextlib.asynccontextmanager(dump_lifespan),
    )


    async def eager_dump_app(scope, receive, send):
        # A plain ASGI callable around dump_app: the native server builds its scope whole.
        await dump_app(scope, receive, send)


    async def raw_fail(scope, receive, send):
        if scope["type"] == "lifespan":
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["path"] == "/later":
            await asyncio.sleep(0)
        raise RuntimeError("no response at all")
    """
)


# The file /huge-file sends: 16 MiB, no two neighbouring 64 KiB blocks alike.
HUGE = b"".join(bytes([block % 251]) * 65536 for block in range(256))


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("native_app")
    (directory / "native_app.py").write_text(APP_SOURCE)
    (directory / "big.bin").write_bytes(bytes(range(256)) * 4096)
    (directory / "huge.bin").write_bytes(HUGE)
    return directory


def _server(app_dir: Path, target: str, server: str) -> Iterator[int]:
    port = free_port()
    log = app_dir / f"{target.replace(':', '_')}-{server}.log"
    with serving(tachyon_cli(f"native_app:{target}", app_dir, port, "--server", server), log, port):
        yield port


@pytest.fixture(scope="module")
def native(app_dir: Path) -> Iterator[int]:
    yield from _server(app_dir, "app", "native")


@pytest.fixture(scope="module")
def native_factory(app_dir: Path) -> Iterator[int]:
    yield from _server(app_dir, "factory_app", "native")


@pytest.fixture(scope="module")
def uvicorn(app_dir: Path) -> Iterator[int]:
    yield from _server(app_dir, "app", "uvicorn")


@pytest.fixture(scope="module")
def native_mw(app_dir: Path) -> Iterator[int]:
    yield from _server(app_dir, "mw_app", "native")


@pytest.fixture(scope="module")
def uvicorn_mw(app_dir: Path) -> Iterator[int]:
    yield from _server(app_dir, "mw_app", "uvicorn")


@pytest.fixture(scope="module")
def native_dump(app_dir: Path) -> Iterator[int]:
    yield from _server(app_dir, "dump_app", "native")


@pytest.fixture(scope="module")
def native_eager_dump(app_dir: Path) -> Iterator[int]:
    yield from _server(app_dir, "eager_dump_app", "native")


@pytest.fixture(scope="module")
def uvicorn_dump(app_dir: Path) -> Iterator[int]:
    yield from _server(app_dir, "dump_app", "uvicorn")


def comparable(response: Response) -> tuple[int, list[tuple[str, str]], bytes]:
    status, headers, body = response
    kept = sorted((name.lower(), value) for name, value in headers if name.lower() not in ("date", "server"))
    return status, kept, body


REQUESTS: list[tuple[str, str, bytes | None, dict[str, str] | None]] = [
    ("GET", "/", None, None),
    ("GET", "/users/42?q=x", None, None),
    ("GET", "/users/abc", None, None),
    ("POST", "/echo", b'{"a": [1, 2.5, null, "\\u00e9"]}', {"content-type": "application/json"}),
    ("GET", "/nope", None, None),
    ("DELETE", "/", None, None),
    ("HEAD", "/", None, None),
    ("GET", "/suspends", None, None),
    ("GET", "/reader", None, None),
    ("GET", "/executor", None, None),
    ("GET", "/sync", None, None),
    ("GET", "/current-task", None, None),
    ("GET", "/boom", None, None),
    ("GET", "/boom-later", None, None),
    ("GET", "/background", None, None),
    ("GET", "/state", None, None),
    ("GET", "/stream", None, None),
    ("GET", "/big-stream", None, None),
    ("GET", "/file", None, None),
    ("GET", "/file", None, {"range": "bytes=10-99"}),
    ("HEAD", "/file", None, None),
    ("HEAD", "/file", None, {"range": "bytes=10-99"}),
    ("GET", "/file", None, {"range": "bytes=-100"}),
    ("GET", "/file", None, {"range": "bytes=2000000-"}),
    ("GET", "/file", None, {"range": "bytes=abc"}),
    ("POST", "/upload", bytes(range(256)) * 8192, {"content-type": "application/octet-stream"}),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), REQUESTS, ids=[f"{m} {p}" for m, p, _, _ in REQUESTS])
def test_same_response_as_uvicorn(
    native: int, uvicorn: int, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
) -> None:
    ours = request(native, method, path, body, headers)
    theirs = request(uvicorn, method, path, body, headers)
    assert comparable(ours) == comparable(theirs)


def test_answers(native: int) -> None:
    assert request(native, "GET", "/")[2] == b'{"message":"Hello, World!"}'
    assert json.loads(request(native, "GET", "/users/42?q=x")[2]) == {"id": 42, "q": "x"}
    status, _, body = request(native, "POST", "/echo", b'{"a": 1}', {"content-type": "application/json"})
    assert (status, json.loads(body)) == (200, {"a": 1})
    assert request(native, "GET", "/nope")[0] == 404
    assert request(native, "DELETE", "/")[0] == 405
    status, headers, body = request(native, "HEAD", "/")
    assert (status, body, dict(headers)["content-length"]) == (200, b"", "27")
    assert request(native, "GET", "/suspends")[2] == b"resolved later"
    assert request(native, "GET", "/reader")[2] == b"PING"
    # The executor's job ran on another thread; the handler itself on the main one.
    assert json.loads(request(native, "GET", "/executor")[2]) == {"sum": 45, "thread": True}
    assert json.loads(request(native, "GET", "/sync")[2]) == {"main": False}
    assert json.loads(request(native, "GET", "/current-task")[2]) == {"task": True, "same": True}
    assert request(native, "GET", "/boom")[:1] == (500,)
    assert request(native, "GET", "/boom-later")[0] == 500
    assert request(native, "GET", "/stream")[2] == b"chunk 0;chunk 1;chunk 2;"
    assert request(native, "GET", "/big-stream")[2] == b"".join(bytes([65 + i % 26]) * 65536 for i in range(32))
    uploaded = bytes(range(256)) * 8192
    status, _, body = request(native, "POST", "/upload", uploaded)
    assert json.loads(body) == {"length": len(uploaded), "sum": sum(uploaded[::4096])}
    assert json.loads(request(native, "GET", "/state")[2]) == {"greeting": "hello from lifespan"}


def test_background_task_runs_after_the_response(native: int) -> None:
    assert request(native, "GET", "/background")[2] == b"sent"
    # The (sync) task runs in the thread pool once the response is out: wait for it, bounded.
    deadline = time.monotonic() + 10
    events = json.loads(request(native, "GET", "/events")[2])
    while "background ran" not in events and time.monotonic() < deadline:
        time.sleep(0.01)
        events = json.loads(request(native, "GET", "/events")[2])
    assert events[0] == "startup"
    assert "background ran" in events


def test_contextvars_are_isolated_per_request(native: int) -> None:
    first = json.loads(request(native, "GET", "/context?id=1")[2])
    second = json.loads(request(native, "GET", "/context?id=2")[2])
    assert first == {"before": None, "after": "1"}
    assert second == {"before": None, "after": "2"}


def test_scope_matches_uvicorn(native: int, uvicorn: int) -> None:
    path = "/scope/a%20b/caf%C3%A9/x%2Fy?q=1&r=%20"
    headers = {"X-One": "1", "x-two": "deux"}
    ours = json.loads(request(native, "GET", path, headers=headers)[2])
    theirs = json.loads(request(uvicorn, "GET", path, headers=headers)[2])
    assert ours["path"] == "/scope/a b/café/x/y"
    assert ours["raw_path"] == "/scope/a%20b/caf%C3%A9/x%2Fy"
    assert ours["state"] == ["greeting"]
    # ASGI 2.4, as the RSGI adapter says too: `send` raises OSError once the client is gone
    # (uvicorn says 2.3).
    assert ours.pop("asgi") == {"version": "3.0", "spec_version": "2.4"}
    assert theirs.pop("asgi") == {"version": "3.0", "spec_version": "2.3"}
    # The server address differs by port only.
    assert ours.pop("server") == ["127.0.0.1", native]
    assert theirs.pop("server") == ["127.0.0.1", uvicorn]
    assert ours == theirs


def _ports_out(dumped: Any, port: int) -> Any:
    """A scope dump (see `dump` in the app) with the ports of "127.0.0.1" addresses taken out
    (the server's is checked)."""
    if isinstance(dumped, dict):
        return {key: _ports_out(value, port) for key, value in dumped.items()}
    if not isinstance(dumped, list):
        return dumped
    if len(dumped) == 2 and dumped[0] == "server":
        assert dumped[1] == ["tuple", ["127.0.0.1", port]]
    if len(dumped) == 2 and dumped[0] == "tuple" and isinstance(dumped[1], list) and len(dumped[1]) == 2:
        host, number = dumped[1]
        if host == "127.0.0.1" and isinstance(number, int):
            return ["tuple", [host, "port"]]
    return [_ports_out(item, port) for item in dumped]


def _by_key(dumped: list[list[Any]]) -> dict[str, Any]:
    """A scope dump as a dict, without what the native server says otherwise than uvicorn by
    design: ASGI spec_version 2.4 (uvicorn: 2.3)."""
    out = dict(dumped)
    asgi = out.pop("asgi")
    assert asgi[0] == "dict"
    out["asgi"] = [pair for pair in asgi[1] if pair[0] != "spec_version"]
    return out


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/now/a%20b/caf%C3%A9?q=1&r=%20"),
        ("GET", "/later"),
        ("GET", "/after-headers"),
        ("GET", "/ways?x=1"),
        ("GET", "/raises"),
        ("GET", "/missing?y=2"),
        ("GET", "/post-only"),
        ("POST", "/now/posted"),
    ],
)
def test_the_scope_an_app_reads_is_the_whole_scope(
    native_dump: int, native_eager_dump: int, uvicorn_dump: int, method: str, path: str
) -> None:
    """However the scope is read (at once, after suspending, after other attributes, copied,
    iterated, mutated; by the handler or by a 404/405/exception handler), it is the dict the
    native server builds whole for a plain ASGI app (same keys, same order, same values and
    types), and key for key the one uvicorn gives."""
    headers = {"X-One": "1", "x-two": "deux", "Cookie": "a=b"}
    body = b"{}" if method == "POST" else None
    results = {}
    for name, port in [("lazy", native_dump), ("eager", native_eager_dump), ("uvicorn", uvicorn_dump)]:
        status, _, content = request(port, method, path, body=body, headers=headers)
        results[name] = (status, _ports_out(json.loads(content), port))
    assert results["lazy"] == results["eager"]
    lazy, uvicorn = results["lazy"][1], results["uvicorn"][1]
    assert results["lazy"][0] == results["uvicorn"][0]
    if isinstance(lazy, dict):
        assert lazy.keys() == uvicorn.keys()
        for key in ("scope", "copy", "shallow"):
            if key in lazy:
                assert _by_key(lazy[key]) == _by_key(uvicorn[key])
        assert lazy.get("first") == uvicorn.get("first")
        assert lazy.get("has") == uvicorn.get("has")
        assert lazy.get("get") == uvicorn.get("get")
        scope = lazy.get("scope") or lazy["copy"]
    else:
        assert _by_key(lazy) == _by_key(uvicorn)
        scope = lazy
    headers_seen = dict(scope)["headers"]
    assert ["tuple", [["bytes", "x-two"], ["bytes", "deux"]]] in headers_seen[1]


def test_a_handler_that_reads_nothing_gets_no_scope_built(native_dump: int) -> None:
    # Under the fused path the handler's request has no scope until something reads it.
    assert json.loads(request(native_dump, "GET", "/untouched")[2]) == ["_lazy_scope", "_receive", "_send"]


def test_keep_alive_serves_several_requests_on_one_connection(native: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", native, timeout=10)
    try:
        conn.connect()
        sock = conn.sock
        for path, expected in [("/", b'{"message":"Hello, World!"}'), ("/suspends", b"resolved later")] * 3:
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.status == 200
            assert response.read() == expected
            assert conn.sock is sock  # the same connection throughout
        conn.request("POST", "/echo", body=b"[1, 2]", headers={"content-type": "application/json"})
        assert conn.getresponse().read() == b"[1,2]"
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/", "/users/7?q=y", "/suspends", "/boom", "/nope", "/stream"])
def test_user_middleware_same_as_uvicorn(native_mw: int, uvicorn_mw: int, path: str) -> None:
    ours = request(native_mw, "GET", path)
    assert comparable(ours) == comparable(request(uvicorn_mw, "GET", path))
    if ours[0] == 200:
        assert dict(ours[1])["x-middleware"] == "yes"


@pytest.mark.parametrize("path", ["/now", "/later"])
def test_raw_app_failing_without_a_response_is_500(app_dir: Path, path: str) -> None:
    results: dict[str, Any] = {}
    for server in ("native", "uvicorn"):
        for port in _server(app_dir, "raw_fail", server):
            results[server] = comparable(request(port, "GET", path))
    assert results["native"][0] == 500
    assert results["native"] == results["uvicorn"]
    log = (app_dir / "raw_fail-native.log").read_text()
    assert "Exception in ASGI application" in log
    assert "RuntimeError: no response at all" in log


def test_sigterm_runs_lifespan_shutdown_and_exits_0(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        import contextlib, pathlib
        from tachyon import PlainTextResponse, Route, TachyonEngine

        @contextlib.asynccontextmanager
        async def lifespan(app):
            yield
            pathlib.Path("shutdown-ran").write_text("yes")

        async def hello(request):
            return PlainTextResponse("hi")

        app = TachyonEngine(routes=[Route("/", hello)], lifespan=lifespan)
        """
    )
    (tmp_path / "life.py").write_text(source)
    port = free_port()
    args = tachyon_cli("life:app", tmp_path, port, "--server", "native")
    with serving(args, tmp_path / "log", port, cwd=tmp_path) as server:
        assert request(port, "GET", "/")[2] == b"hi"
        assert server.stop() == 0
    assert (tmp_path / "shutdown-ran").read_text() == "yes"


def test_port_in_use_is_one_line_and_exit_2(app_dir: Path) -> None:
    import subprocess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, *tachyon_cli("native_app:app", app_dir, port, "--server", "native")],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert "address already in use" in result.stderr


def _events(port: int) -> list[str]:
    return json.loads(request(port, "GET", "/events")[2])


def _wait_for_event(port: int, event: str) -> list[str]:
    """The app's recorded events once `event` is among them (within 10 s)."""
    deadline = time.monotonic() + 10
    events = _events(port)
    while event not in events and time.monotonic() < deadline:
        time.sleep(0.01)
        events = _events(port)
    return events


def _read_response(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes, bytes]:
    """(head, body, rest) of the next response in `buffer` + what `sock` sends (bodies
    with content-length only)."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        assert data, f"connection closed mid-response: {buffer!r}"
        buffer += data
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(buffer) < length:
        data = sock.recv(65536)
        assert data, "connection closed mid-body"
        buffer += data
    return head, buffer[:length], buffer[length:]


def test_handler_is_cancelled_when_its_client_goes_away(native: int) -> None:
    with socket.create_connection(("127.0.0.1", native), timeout=10) as sock:
        sock.sendall(b"GET /hang?tag=gone HTTP/1.1\r\nhost: x\r\n\r\n")
        assert "gone started" in _wait_for_event(native, "gone started")
    events = _wait_for_event(native, "gone finally, disconnected=True")
    assert "gone cancelled" in events
    assert events.index("gone cancelled") < events.index("gone finally, disconnected=True")
    # The server goes on serving.
    assert request(native, "GET", "/")[0] == 200


def test_pipelined_requests_are_answered_in_order(native: int) -> None:
    paths = ["/suspends", "/", "/users/1?q=a", "/suspends", "/users/2?q=b", "/"]
    with socket.create_connection(("127.0.0.1", native), timeout=10) as sock:
        sock.sendall(b"".join(f"GET {path} HTTP/1.1\r\nhost: x\r\n\r\n".encode() for path in paths))
        rest = b""
        bodies = []
        for _ in paths:
            head, body, rest = _read_response(sock, rest)
            assert head.startswith(b"HTTP/1.1 200 ")
            bodies.append(body)
    assert bodies == [
        b"resolved later",
        b'{"message":"Hello, World!"}',
        b'{"id":1,"q":"a"}',
        b"resolved later",
        b'{"id":2,"q":"b"}',
        b'{"message":"Hello, World!"}',
    ]


def test_expect_100_continue(native: int) -> None:
    body = b'{"expect": "continue"}'
    with socket.create_connection(("127.0.0.1", native), timeout=10) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"expect: 100-continue\r\ncontent-length: %d\r\n\r\n" % len(body)
        )
        interim = b""
        while b"\r\n\r\n" not in interim:
            data = sock.recv(4096)
            assert data
            interim += data
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        interim, _, rest = interim.partition(b"\r\n\r\n")
        sock.sendall(body)
        head, answer, _ = _read_response(sock, rest)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(answer) == {"expect": "continue"}


def test_large_uploads_are_streamed_to_the_app(native: int) -> None:
    part = bytes(range(256)) * 256  # 64 KiB
    conn = http.client.HTTPConnection("127.0.0.1", native, timeout=30)
    try:
        # Chunked, 8 MiB.
        conn.request("POST", "/stream-upload", body=iter([part] * 128), encode_chunked=True)
        chunked = json.loads(conn.getresponse().read())
        # With a content-length, 8 MiB.
        conn.request("POST", "/stream-upload", body=part * 128)
        sized = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert chunked["total"] == sized["total"] == 128 * len(part)
    # Given in parts as they came, not in one piece.
    assert chunked["chunks"] > 1
    assert sized["chunks"] > 1


def test_upload_has_backpressure(native: int) -> None:
    # The app reads one part and no more: the server reads no further either, so the client's
    # sends stop once the socket buffers are full, far short of the declared length.
    declared = 96 * 1024 * 1024  # under the default limit (100 MB)
    sent = 0
    with socket.create_connection(("127.0.0.1", native), timeout=10) as sock:
        sock.sendall(b"POST /stall-upload HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % declared)
        sock.settimeout(2)
        block = b"x" * (1024 * 1024)
        try:
            while sent < declared:
                sent += sock.send(block)
        except TimeoutError:
            pass
        assert "stall got True" in _wait_for_event(native, "stall got True")
    assert sent < 64 * 1024 * 1024
    # The client went away: once the app reads again, it learns so (ClientDisconnect).
    assert request(native, "GET", "/release")[2] == b"released"
    assert "stall finally" in _wait_for_event(native, "stall finally")


def test_declared_body_over_the_limit_is_413(native: int) -> None:
    with socket.create_connection(("127.0.0.1", native), timeout=10) as sock:
        sock.sendall(b"POST /stream-upload HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % (200 * 1024 * 1024))
        head, _, _ = _read_response(sock, b"")
    assert head.startswith(b"HTTP/1.1 413 ")


def test_a_task_factory_makes_the_request_tasks(native_factory: int) -> None:
    # The loop's task factory (set in lifespan) makes each request's task, as under uvicorn.
    first = json.loads(request(native_factory, "GET", "/made")[2])
    assert first["mine"] is True
    assert request(native_factory, "GET", "/suspends")[2] == b"resolved later"
    assert json.loads(request(native_factory, "GET", "/made")[2]) == {"made": first["made"] + 2, "mine": True}


def test_a_file_streams_without_blocking_other_requests(native: int) -> None:
    # A client that takes a 16 MiB FileResponse slowly (a small receive buffer, reading
    # nothing for now) holds the transfer mid-file: the app's reads run in worker threads
    # and its sends wait for room, so the loop goes on answering other clients meanwhile.
    with socket.socket() as slow:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(10)
        slow.connect(("127.0.0.1", native))
        slow.sendall(b"GET /huge-file HTTP/1.1\r\nhost: x\r\n\r\n")
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            data = slow.recv(4096)
            assert data, "connection closed before the head"
            buffer += data
        head, _, received = buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert f"content-length: {len(HUGE)}".encode() in head.lower()
        assert len(received) < len(HUGE)
        # Answered while the file is still being sent.
        for _ in range(3):
            status, _, body = request(native, "GET", "/")
            assert (status, body) == (200, b'{"message":"Hello, World!"}')
            assert request(native, "GET", "/suspends")[2] == b"resolved later"
        while len(received) < len(HUGE):
            data = slow.recv(1 << 20)
            assert data, f"connection closed after {len(received)} bytes"
            received += data
    assert received == HUGE
