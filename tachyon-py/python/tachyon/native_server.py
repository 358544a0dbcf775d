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
import logging
import selectors
import signal
from typing import Any

from tachyon._tachyon import Continuation, FusedDispatch, NativeServer
from tachyon.rsgi import Lifespan

__all__ = ["TurnSelector", "serve"]

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
    """
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
