"""Turning exceptions raised by an app into responses, by registered handler (private)."""

from __future__ import annotations

from typing import Any

from tachyon._tachyon import PanicException, ResponseTracker
from tachyon._utils import is_async_callable
from tachyon.concurrency import run_in_threadpool
from tachyon.exceptions import HTTPException
from tachyon.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

ExceptionHandlers = dict[Any, ExceptionHandler]
StatusHandlers = dict[int, ExceptionHandler]

# The scope key is Starlette's, so Starlette routes mounted inside a Tachyon app share the handlers.
SCOPE_KEY = "starlette.exception_handlers"

# What the built-in error layer answers with a 500: any Exception, and a Rust panic from a
# binding (PyO3's PanicException derives from BaseException, which would otherwise pass it
# through as if it were a cancellation).
SERVER_ERRORS: tuple[type[BaseException], ...] = (Exception, PanicException)

# `ResponseTracker(send)`: a `send` that records in `started` whether the response has
# started (native, src/dispatch.rs: one call per message instead of a coroutine).
__all__ = [
    "SCOPE_KEY",
    "SERVER_ERRORS",
    "ResponseTracker",
    "handle_exception",
    "lookup_exception_handler",
    "wrap_app_handling_exceptions",
]


def lookup_exception_handler(handlers: ExceptionHandlers, exc: BaseException) -> ExceptionHandler | None:
    """The handler registered for the most specific class of `exc`, if any."""
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            return handler
    return None


async def handle_exception(
    exc: BaseException,
    conn: Any,
    handlers: tuple[ExceptionHandlers, StatusHandlers],
    scope: Scope,
    receive: Receive,
    tracker: ResponseTracker,
) -> None:
    """Answer `exc` with its registered handler's response, or raise it again if it has none."""
    exception_handlers, status_handlers = handlers
    handler = None
    if isinstance(exc, HTTPException):
        handler = status_handlers.get(exc.status_code)
    if handler is None:
        handler = lookup_exception_handler(exception_handlers, exc)
    if handler is None:
        raise exc
    if tracker.started:
        raise RuntimeError("Caught handled exception, but response already started.") from exc
    if is_async_callable(handler):
        response = await handler(conn, exc)
    else:
        response = await run_in_threadpool(handler, conn, exc)
    if response is not None:
        await response(scope, receive, tracker)
    # A reused exception instance would otherwise pile up tracebacks across requests.
    exc.__traceback__ = None


def wrap_app_handling_exceptions(app: ASGIApp, conn: Any) -> ASGIApp:
    """Wrap `app` so that exceptions with a registered handler become that handler's response."""
    try:
        exception_handlers, status_handlers = conn.scope[SCOPE_KEY]
    except KeyError:
        exception_handlers, status_handlers = {}, {}

    async def wrapped_app(scope: Scope, receive: Receive, send: Send) -> None:
        tracker = ResponseTracker(send)
        try:
            await app(scope, receive, tracker)
        except Exception as exc:
            await handle_exception(exc, conn, (exception_handlers, status_handlers), scope, receive, tracker)

    return wrapped_app
