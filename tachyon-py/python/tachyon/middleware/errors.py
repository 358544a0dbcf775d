"""ServerErrorMiddleware: any uncaught exception becomes a 500 (and is re-raised)."""

from __future__ import annotations

import html
import traceback
from typing import TYPE_CHECKING, NoReturn

from tachyon._dispatch import fused_path
from tachyon._exception_handler import SERVER_ERRORS, ResponseTracker
from tachyon._utils import is_async_callable
from tachyon.concurrency import run_in_threadpool
from tachyon.requests import Request
from tachyon.responses import HTMLResponse, PlainTextResponse, Response
from tachyon.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

if TYPE_CHECKING:
    from tachyon._dispatch import FusedPath

__all__ = ["ServerErrorMiddleware"]


class ServerErrorMiddleware:
    """The outermost built-in middleware.

    An exception nobody handled gets a 500 response (a traceback page when `debug`, else
    `handler`'s response, else "Internal Server Error") if the response has not started,
    and is then raised again so the server can log it and a TestClient can raise it.
    """

    # (layer below, the stack's fused path or None), decided on the first request and again
    # only if `app` is replaced (see tachyon._dispatch).
    _plan: tuple[ASGIApp, FusedPath | None] | None = None

    def __init__(self, app: ASGIApp, handler: ExceptionHandler | None = None, debug: bool = False) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        app = self.app
        plan = self._plan
        if plan is None or plan[0] is not app:
            plan = self._plan = (app, fused_path(self))
        if plan[1] is not None:
            # The built-in stack alone: served by its one dispatcher (same behaviour, fewer frames).
            await plan[1].native(scope, receive, send)
            return
        tracker = ResponseTracker(send)
        try:
            await app(scope, receive, tracker)
        except SERVER_ERRORS as exc:
            await self.respond_and_reraise(exc, scope, receive, send, tracker.started)

    async def respond_and_reraise(
        self, exc: BaseException, scope: Scope, receive: Receive, send: Send, response_started: bool
    ) -> NoReturn:
        """Send the 500 response for `exc` (unless the response had started), then raise it."""
        request = Request(scope)
        if self.debug:
            response = await run_in_threadpool(self.debug_response, request, exc)
        elif self.handler is None:
            response = self.error_response(request, exc)
        elif is_async_callable(self.handler):
            response = await self.handler(request, exc)
        else:
            response = await run_in_threadpool(self.handler, request, exc)
        if not response_started:
            await response(scope, receive, send)
        # Raised again so the server can log it and a TestClient can raise it. A Rust panic
        # (a BaseException) goes on as an ordinary error: raised as itself it would be taken
        # for a cancellation by the task running the request.
        if not isinstance(exc, Exception):
            raise RuntimeError(f"a panic in Tachyon's native code: {exc}") from exc
        raise exc

    def generate_plain_text(self, exc: Exception) -> str:
        """The formatted traceback."""
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def generate_html(self, exc: Exception, limit: int = 7) -> str:
        """A minimal HTML page with the exception and its traceback."""
        frames = traceback.extract_tb(exc.__traceback__, limit=limit)
        rows = "".join(
            f"<li><code>{html.escape(f.filename)}:{f.lineno}</code> in <code>{html.escape(f.name)}</code>"
            f"<pre>{html.escape(f.line or '')}</pre></li>"
            for f in reversed(frames)
        )
        title = html.escape(f"{type(exc).__name__}: {exc}")
        return (
            "<html><head><title>Tachyon Debugger</title></head><body>"
            f"<h1>500 Server Error</h1><h2>{title}</h2><ol>{rows}</ol></body></html>"
        )

    def debug_response(self, request: Request, exc: Exception) -> Response:
        """The traceback, as HTML if the client accepts it, else plain text."""
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(self.generate_html(exc), status_code=500)
        return PlainTextResponse(self.generate_plain_text(exc), status_code=500)

    def error_response(self, request: Request, exc: Exception) -> Response:
        """The response sent when no handler is installed and debug is off."""
        return PlainTextResponse("Internal Server Error", status_code=500)
