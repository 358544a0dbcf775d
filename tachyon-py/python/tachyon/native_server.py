"""The native server (the default on Linux): Tachyon's own HTTP/1.1 server on the asyncio loop's thread.

`python -m tachyon module:app --server native` or `app.run(server="native")`.

One thread does everything: the event loop's selector (`TurnSelector`) runs the native
server (`tachyon._tachyon.NativeServer`: hyper on a tokio runtime) while it waits, with the
GIL released, and the server's wait includes the selector's own epoll descriptor. So the
app's asyncio I/O (`loop.add_reader` / `add_writer`, as database drivers use), timers,
`run_in_executor` (whose completion writes to the loop's self-pipe) and signals all wake
the same single wait.

Each request is answered from native code: the ASGI scope is built there, and the app's
awaitable (for a TachyonEngine with no user middleware, its fused dispatcher, which hands a
plain Response over whole; for anything else, `app(scope, receive, send)`) is stepped once
right away, in its own copy of the context, with its own asyncio task (made natively, its
coroutine a `Continuation`) as the current task: a handler that finishes without suspending
is answered at once, before the loop runs again. The task's first step continues the handler
where it suspended (or, if it finished, just ends).

WebSockets are served too: the app's `app(scope, receive, send)` runs as
an asyncio task with the ASGI websocket messages, as under uvicorn; the framing and limits
are the native server's (tokio-tungstenite).
"""

from __future__ import annotations

import asyncio
import collections.abc
import ctypes
import logging
import os
import platform
import selectors
import signal
from collections.abc import Mapping
from typing import Any

from tachyon._tachyon import Continuation, FusedDispatch, NativeServer
from tachyon.rsgi import Lifespan

__all__ = ["TurnSelector", "serve", "tune_malloc"]

logger = logging.getLogger("tachyon.native_server")

# Tasks of requests in flight: the loop keeps only weak references to its tasks.
_tasks: set[asyncio.Task[Any]] = set()

# A request's task runs a native Continuation of the call the server stepped once: asyncio
# accepts it as a coroutine.
collections.abc.Coroutine.register(Continuation)


class TurnSelector(selectors.EpollSelector):
    """An epoll selector whose wait is the native server's: `select(timeout)` runs
    `server.turn(timeout, <this selector's epoll fd>)` with the GIL released, then
    collects the ready events without waiting."""

    server: NativeServer | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        server = self.server
        if server is None:
            return super().select(timeout)
        server.turn(timeout, self.fileno())
        return super().select(0)

    def close(self) -> None:
        server = self.server
        if server is not None:
            server.forget_wake_fd()
            self.server = None
        super().close()


def _report(exc: BaseException | None, message: str | None) -> None:
    """Log a request's failure as uvicorn does."""
    if exc is not None:
        logger.error("Exception in ASGI application\n", exc_info=exc)
    elif message is not None:
        logger.error(message)


def _target(app: Any) -> tuple[Any, bool, Any]:
    """(what to call per request, whether it is a fused dispatcher, scope["app"] for it)."""
    from tachyon.applications import TachyonEngine

    if isinstance(app, TachyonEngine) and type(app).__call__ is TachyonEngine.__call__:
        dispatcher = app._dispatcher()
        if isinstance(dispatcher, FusedDispatch):
            return dispatcher, True, app
    return app, False, None


async def _main(app: Any, selector: TurnSelector, listen: dict[str, Any], config: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    lifespan = Lifespan(app)
    await lifespan.startup()
    target, fused, scope_app = _target(app)
    server = NativeServer(
        target,
        fused=fused,
        scope_app=scope_app,
        state=lifespan.state,
        tasks=_tasks,
        report=_report,
        event_loop=loop,
        **listen,
        **config,
    )
    selector.server = server
    try:
        await stop.wait()
        server.shutdown()
        while not server.stopped:
            await asyncio.sleep(0.01)
    finally:
        selector.server = None
        server.forget_wake_fd()
    await lifespan.shutdown()


# glibc's mallopt parameters and the values `tune_malloc` sets.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MALLOC_SETTINGS = ((M_MMAP_THRESHOLD, 1024 * 1024), (M_TRIM_THRESHOLD, 2 * 1024 * 1024))
# The environment variables with which a user sets glibc's malloc themselves.
_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def tune_malloc(environ: Mapping[str, str] | None = None, libc: Any = None) -> bool:
    """Keep glibc's malloc from mapping and unmapping memory for every asyncio socket read.

    An asyncio socket transport reads with `sock.recv(256 KiB)`: CPython allocates a 256 KiB
    bytes object, shrinks it to what arrived and later frees it. Above glibc's default
    `M_MMAP_THRESHOLD` (128 KiB) each such allocation is its own `mmap`, shrunk with `mremap`
    and freed with `munmap`, page faults and TLB flushes included; glibc raises the threshold
    by itself only when it frees a large mapped chunk, which the shrink prevents. So every
    read a handler's database driver or HTTP client makes costs three system calls more. The
    worker sets the threshold to 1 MiB (and the heap trim threshold to 2 MiB, as glibc's own
    adjustment would) so those buffers come from the heap: a handler that awaits a TCP round
    trip costs about a third less CPU on the native server. Larger allocations are still
    mapped.

    Only on glibc, and only when the user has not tuned malloc themselves (any of
    `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_TOP_PAD_`, `MALLOC_MMAP_MAX_`
    set, or `glibc.malloc` in `GLIBC_TUNABLES`); `TACHYON_MALLOC_TUNING=0` turns it off.
    Returns whether it tuned. `environ` and `libc` are for tests (default: `os.environ`
    and the process's C library).
    """
    environ = os.environ if environ is None else environ
    if environ.get("TACHYON_MALLOC_TUNING", "1") == "0":
        return False
    if any(name in environ for name in _MALLOC_ENV) or "glibc.malloc" in environ.get("GLIBC_TUNABLES", ""):
        return False
    if libc is None:
        if platform.libc_ver()[0] != "glibc":
            return False
        libc = ctypes.CDLL(None)
    # mallopt returns 1 on success, 0 on error.
    return all(libc.mallopt(param, value) == 1 for param, value in MALLOC_SETTINGS)


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    uds: str | None = None,
    fd: int | None = None,
    header_timeout: float = 10.0,
    body_timeout: float | None = 30.0,
    keep_alive_timeout: float = 5.0,
    shutdown_timeout: float = 30.0,
    root_path: str = "",
    forwarded_allow_ips: str | None = None,
    access_log: Any = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    ws_max_size: int = 16 * 1024 * 1024,
    ws_ping_interval: float | None = 20.0,
    ws_ping_timeout: float | None = 20.0,
) -> None:
    """Serve the ASGI `app` on this thread until SIGINT or SIGTERM, then shut down gracefully.

    Lifespan startup runs before the socket is listened on, shutdown after the last request.
    Timeouts are seconds (`body_timeout` None or 0: no deadline). `root_path`,
    `forwarded_allow_ips` (None: proxy headers off), `access_log` (a callable, None: off)
    and `ssl_certfile` / `ssl_keyfile` (TLS) are `tachyon._tachyon.NativeServer`'s, as are
    the WebSocket limits `ws_max_size` (bytes), `ws_ping_interval` and `ws_ping_timeout`
    (seconds; None or 0: no pings, no deadline), uvicorn's `--ws-*` settings.
    First it tunes glibc's malloc for asyncio's socket reads (`tune_malloc`).
    """
    tune_malloc()
    selector = TurnSelector()
    loop = asyncio.SelectorEventLoop(selector)
    listen = {"host": host, "port": port, "uds": uds, "fd": fd}
    config = {
        "header_timeout": header_timeout,
        "body_timeout": body_timeout or 0.0,
        "keep_alive_timeout": keep_alive_timeout,
        "shutdown_timeout": shutdown_timeout,
        "root_path": root_path,
        "forwarded_allow_ips": forwarded_allow_ips,
        "access_log": access_log,
        "ssl_certfile": ssl_certfile,
        "ssl_keyfile": ssl_keyfile,
        "ws_max_size": ws_max_size,
        "ws_ping_interval": ws_ping_interval or 0.0,
        "ws_ping_timeout": ws_ping_timeout or 0.0,
    }
    try:
        loop.run_until_complete(_main(app, selector, listen, config))
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
