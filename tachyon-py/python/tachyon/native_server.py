"""The native server (experimental, Linux): Tachyon's own HTTP/1.1 server on the asyncio loop's thread.

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
right away, in its own copy of the context, with its own asyncio task (`_begin`) as the
current task: a handler that finishes without suspending is answered at once, before the
loop runs again. The task's first step continues the handler where it suspended (or, if it
finished, just ends).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import selectors
import signal
import types
from collections.abc import Generator
from typing import Any

from tachyon._tachyon import Exchange, FusedDispatch, NativeServer
from tachyon.rsgi import Lifespan

__all__ = ["TurnSelector", "serve"]

logger = logging.getLogger("tachyon.native_server")

# Tasks of suspended requests: the loop keeps only weak references to its tasks.
_tasks: set[asyncio.Task[Any]] = set()


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


class _Carrier:
    """What a request's task continues: the app's `call` suspended on `yielded`, or the
    `error` its first step raised (the native side fills it after that step; all None: the
    call is already done)."""

    __slots__ = ("call", "error", "yielded")

    def __init__(self) -> None:
        self.call: Any = None
        self.yielded: Any = None
        self.error: BaseException | None = None


@types.coroutine
def _carry(carrier: _Carrier) -> Generator[Any, Any, None]:
    """Go on driving the call the native side stepped once, as `await` would."""
    error, call, yielded = carrier.error, carrier.call, carrier.yielded
    carrier.error = carrier.call = carrier.yielded = None
    if error is not None:
        raise error
    if call is None:
        return
    while True:
        try:
            value = yield yielded
        except GeneratorExit:
            call.close()
            raise
        except BaseException as exc:
            try:
                yielded = call.throw(exc)
            except StopIteration:
                return
        else:
            try:
                yielded = call.send(value)
            except StopIteration:
                return


async def _run(carrier: _Carrier) -> None:
    await _carry(carrier)


def _begin(exchange: Exchange, context: contextvars.Context) -> tuple[asyncio.Task[None], _Carrier]:
    """A request's task (its first step comes after the native side's first step) and carrier."""
    carrier = _Carrier()
    task = asyncio.get_running_loop().create_task(_run(carrier), context=context)
    _tasks.add(task)
    task.add_done_callback(functools.partial(_finished, exchange))
    return task, carrier


def _finished(exchange: Exchange, task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    exc = None if task.cancelled() else task.exception()
    message = exchange.finish()
    _report(exc, message)


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
        begin=_begin,
        enter_task=functools.partial(asyncio.tasks._enter_task, loop),
        leave_task=functools.partial(asyncio.tasks._leave_task, loop),
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
) -> None:
    """Serve the ASGI `app` on this thread until SIGINT or SIGTERM, then shut down gracefully.

    Lifespan startup runs before the socket is listened on, shutdown after the last request.
    Timeouts are seconds (`body_timeout` None or 0: no deadline).
    """
    selector = TurnSelector()
    loop = asyncio.SelectorEventLoop(selector)
    listen = {"host": host, "port": port, "uds": uds, "fd": fd}
    config = {
        "header_timeout": header_timeout,
        "body_timeout": body_timeout or 0.0,
        "keep_alive_timeout": keep_alive_timeout,
        "shutdown_timeout": shutdown_timeout,
    }
    try:
        loop.run_until_complete(_main(app, selector, listen, config))
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
