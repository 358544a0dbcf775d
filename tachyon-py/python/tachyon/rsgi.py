"""RSGI, Granian's native interface: serve a Tachyon app (or any ASGI app) without ASGI's overhead.

`TachyonEngine.__rsgi__` lands in `serve`. The RSGI scope is turned into the ASGI scope once,
then the same router, middleware and responses run as under ASGI:

- With no user middleware (the common case) the app's one dispatcher (`tachyon._dispatch`)
  serves the request, and a plain `Response` goes out through `protocol.response_bytes`
  directly: no ASGI message dicts, no `send` coroutines. The ASGI scope is then built only
  when something reads it (`LazyScope`): routing needs only the method and path, and a
  handler that never reads its request never pays for converting Granian's scope.
- Otherwise the ASGI app is called with a `receive` and a `send` adapted to the RSGI protocol,
  so pure-ASGI middleware works unchanged; a streamed body goes out through
  `protocol.response_stream`, an `http.response.pathsend` through `protocol.response_file`.

Lifespan runs through the ASGI lifespan protocol from `__rsgi_init__` / `__rsgi_del__`, and its
state is copied into each request's scope, as uvicorn does.

Wrap any other ASGI app with `RSGIApp(asgi_app)` to serve it the same way.

A request body that fails to arrive is the client's fault, never a 500: cut short (EOF before
Content-Length) or malformed (a bad chunk size), the app receives `http.disconnect` (Starlette's
`ClientDisconnect`) and the client gets 400; not complete within `body_timeout` seconds, the
same with 408. Either way nothing is logged as a server error, as under uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from tachyon._tachyon import FusedDispatch, LazyScope, ScopeConverter, str_headers
from tachyon.responses import Response
from tachyon.types import ASGIApp, Message, Scope

__all__ = [
    "HTTPChannel",
    "Lifespan",
    "RSGIApp",
    "BODY_TIMEOUT_ENV",
    "DEFAULT_BODY_TIMEOUT",
    "asgi_scope",
    "body_timeout",
    "lifespan_shutdown",
    "lifespan_startup",
    "serve",
    "serve_asgi",
    "serve_websocket",
    "set_body_timeout",
]

logger = logging.getLogger("tachyon.rsgi")

_HTTP_ASGI = {"version": "3.0", "spec_version": "2.4"}
_WS_ASGI = {"version": "3.0", "spec_version": "2.4"}
_LIFESPAN_ASGI = {"version": "3.0", "spec_version": "2.0"}
# Granian serves a file named by an `http.response.pathsend` message with `response_file`.
_EXTENSIONS: dict[str, dict[str, Any]] = {"http.response.pathsend": {}}

_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS = [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(_ERROR_BODY)))]

# What the client gets when its request body fails to arrive (see HTTPChannel.receive).
_BODY_FAILURES = {400: b"Bad Request", 408: b"Request Timeout"}

DEFAULT_BODY_TIMEOUT = 60.0
"""Seconds a client has to send a whole request body under RSGI (a stalled upload gets 408)."""
BODY_TIMEOUT_ENV = "TACHYON_BODY_TIMEOUT"
"""Environment variable read at import for the body deadline (seconds; 0 or "none": no deadline).

`python -m tachyon --body-timeout` sets it, so that worker processes inherit it; set it yourself
when starting Granian directly (`granian --interface rsgi`)."""


def _timeout_from_env() -> float | None:
    value = os.environ.get(BODY_TIMEOUT_ENV, "").strip().lower()
    if not value:
        return DEFAULT_BODY_TIMEOUT
    if value == "none":
        return None
    try:
        seconds = float(value)
    except ValueError:
        logger.warning("ignoring %s=%r: not a number of seconds", BODY_TIMEOUT_ENV, value)
        return DEFAULT_BODY_TIMEOUT
    return seconds if seconds > 0 else None


_body_timeout: float | None = _timeout_from_env()


def body_timeout() -> float | None:
    """The current body deadline in seconds (None: none)."""
    return _body_timeout


def set_body_timeout(seconds: float | None) -> None:
    """Set the body deadline for this process: seconds > 0, or None (or 0) for none."""
    global _body_timeout
    _body_timeout = seconds if seconds else None


# --- scope ---------------------------------------------------------------------------------

_converter = ScopeConverter(_HTTP_ASGI, _WS_ASGI, _EXTENSIONS)
_to_asgi = _converter.convert
_lazy = _converter.lazy


def asgi_scope(scope: Any, state: dict[str, Any] | None = None) -> Scope:
    """The ASGI scope equivalent to an RSGI scope (http or ws), built natively in one call.

    Granian hands over the path already percent-decoded, so `raw_path` is re-encoded from it
    (an encoded `%2F` comes back as `/`), and drops header values that are not valid text.
    """
    asgi = _to_asgi(scope, state)
    if asgi["type"] == "websocket":
        _add_subprotocols(asgi)
    return asgi


def _add_subprotocols(asgi: Scope) -> None:
    offered = [value.decode("latin-1") for name, value in asgi["headers"] if name == b"sec-websocket-protocol"]
    asgi["subprotocols"] = [item.strip() for value in offered for item in value.split(",")]


# --- http: ASGI receive / send over the RSGI protocol ---------------------------------------


class HTTPChannel:
    """ASGI `send` (the object itself) and `receive` (its method) for one RSGI http request.

    `receive` gives the whole body in one message (Granian reads it; its limits apply), then
    waits for the client to disconnect. A response body sent in one message goes out with
    `response_bytes`; one in several parts opens `response_stream`. `started` is the flag the
    exception layers read, as on ResponseTracker.

    When the body fails to arrive (cut short, malformed, or later than `body_timeout()`),
    `failed` holds the status the client will get (400 or 408), `receive` says
    `http.disconnect`, and whatever the app sends after that is dropped, as uvicorn drops
    what is sent to a disconnected client.
    """

    __slots__ = ("consumed", "done", "failed", "headers", "protocol", "started", "status", "stream", "timed_out")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.consumed = False
        self.started = False
        self.done = False
        self.failed = 0
        self.timed_out = False
        self.status = 200
        self.headers: list[tuple[str, str]] = []
        self.stream: Any = None

    async def receive(self) -> Message:
        """ASGI receive."""
        if not self.consumed:
            self.consumed = True
            timeout = _body_timeout
            timer = None
            if timeout is not None:
                timer = asyncio.get_running_loop().call_later(timeout, self._expire, asyncio.current_task())
            try:
                body = await self.protocol()
            except asyncio.CancelledError:
                if not self.timed_out:
                    raise
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()
                self.failed = 408
                return {"type": "http.disconnect"}
            except RuntimeError:
                # Granian's RSGIProtocolClosed: the client closed before the body was complete,
                # or sent one hyper could not parse (a bad chunk size, say).
                self.failed = 400
                return {"type": "http.disconnect"}
            finally:
                if timer is not None:
                    timer.cancel()
            return {"type": "http.request", "body": body, "more_body": False}
        if self.failed:
            return {"type": "http.disconnect"}
        await self.protocol.client_disconnect()
        return {"type": "http.disconnect"}

    def _expire(self, task: asyncio.Task[Any] | None) -> None:
        if task is not None and not self.timed_out:
            self.timed_out = True
            task.cancel()

    async def __call__(self, message: Message) -> None:
        if self.failed:
            return
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError('Unexpected ASGI message "http.response.start": the response has already started.')
            self.started = True
            self.status = message["status"]
            self.headers = str_headers(message.get("headers", ()))
        elif kind == "http.response.body":
            if not self.started or self.done:
                when = "after the response" if self.started else "before http.response.start"
                raise RuntimeError(f'Unexpected ASGI message "{kind}" {when}.')
            body = message.get("body", b"")
            more_body = message.get("more_body", False)
            if self.stream is None:
                if not more_body:
                    self.done = True
                    self.protocol.response_bytes(self.status, self.headers, bytes(body))
                    return
                self.stream = self.protocol.response_stream(self.status, self.headers)
            if body:
                await self.stream.send_bytes(bytes(body))
            if not more_body:
                self.done = True
        elif kind == "http.response.pathsend":
            if not self.started or self.done:
                raise RuntimeError(f'Unexpected ASGI message "{kind}".')
            self.done = True
            self.protocol.response_file(self.status, self.headers, str(message["path"]))
        # Other messages (trailers, early hints, push) have no RSGI equivalent: dropped, as a
        # server that does not advertise the extension would.

    def send_response(self, response: Response) -> None:
        """Send a plain Response (Response's own `__call__`) straight to `response_bytes`."""
        if self.failed:
            return
        body = response.body
        self.started = self.done = True
        self.protocol.response_bytes(
            response.status_code,
            str_headers(response.raw_headers),
            body if type(body) is bytes else bytes(body),
        )

    def finish(self) -> None:
        """Close the response after the app returned, as an ASGI server would."""
        if self.done:
            return
        self.done = True
        if self.failed:
            # Nothing the app sent went out: answer the client's fault, and close.
            body = _BODY_FAILURES[self.failed]
            headers = [
                ("content-type", "text/plain; charset=utf-8"),
                ("content-length", str(len(body))),
                ("connection", "close"),
            ]
            self.protocol.response_bytes(self.failed, headers, body)
            return
        if self.stream is not None:
            return  # Granian ends the stream when the handler returns.
        if self.started:
            self.protocol.response_bytes(self.status, self.headers, b"")
        else:
            logger.error("ASGI callable returned without starting response.")
            self.protocol.response_bytes(500, _ERROR_HEADERS, _ERROR_BODY)


class _AppState:
    """What `serve` keeps on an app between requests: its stack, lifespan, and the stack's
    native fused dispatcher when it has one (tachyon._dispatch, shared with `__call__`)."""

    __slots__ = ("fused", "lifespan", "own_call", "stack")

    def __init__(self, app: Any, stack: Any, lifespan: Lifespan | None) -> None:
        from tachyon.applications import TachyonEngine

        # Whether `app.__call__` is TachyonEngine's, which this module stands in for.
        self.own_call = type(app).__call__ is TachyonEngine.__call__
        self.stack = stack
        dispatcher = app._dispatcher() if self.own_call else None
        self.fused: FusedDispatch | None = dispatcher if isinstance(dispatcher, FusedDispatch) else None
        self.lifespan = lifespan


_STATE_KEY = "_tachyon_rsgi"


def _app_state(app: Any) -> _AppState:
    namespace = app.__dict__
    state: _AppState | None = namespace.get(_STATE_KEY)
    stack = app.middleware_stack
    if state is None or stack is None or state.stack is not stack:
        if stack is None:
            stack = app.middleware_stack = app.build_middleware_stack()
        state = namespace[_STATE_KEY] = _AppState(app, stack, None if state is None else state.lifespan)
    return state


async def serve(app: Any, scope: Any, protocol: Any) -> None:
    """Answer one RSGI connection (http or ws) with a TachyonEngine `app`.

    `TachyonEngine.__rsgi__` is this function, bound as the method.
    """
    state = _app_state(app)
    lifespan = state.lifespan
    fused = state.fused
    if fused is not None:
        # The app's one dispatcher, on a scope built only when something reads it
        # (`LazyScope`), with a plain Response handed whole to `response_bytes`.
        lazy = _lazy(scope, None if lifespan is None else lifespan.state)
        if lazy is not None:
            await _serve_lazy(app, fused, lazy, protocol)
            return
    asgi = _to_asgi(scope, None if lifespan is None else lifespan.state)
    if not state.own_call:
        # A subclass with its own `__call__` (FastAPI's sets root_path, for one) is served
        # through it, as under ASGI.
        await _serve_through_call(app, asgi, protocol)
        return
    asgi["app"] = app
    if asgi["type"] == "websocket":
        _add_subprotocols(asgi)
        await serve_websocket(state.stack, asgi, protocol)
        return
    channel = HTTPChannel(protocol)
    try:
        await state.stack(asgi, channel.receive, channel)
    except Exception:
        if not channel.failed:
            raise
        # The app raised because the body never came (ClientDisconnect, usually): the
        # client's fault, not a server error; `finish` answers it.
        logger.info("request body incomplete (%d): %s %s", channel.failed, asgi["method"], asgi["path"])
    finally:
        if not channel.done:
            channel.finish()


async def _serve_lazy(app: Any, fused: FusedDispatch, lazy: LazyScope, protocol: Any) -> None:
    """Answer one RSGI http request with the app's fused dispatcher, on a lazy scope.

    The guard around the call is `serve`'s, written out again on purpose: a shared helper
    coroutine would add a frame to every request on this, the fast, path.
    """
    partial = lazy.partial
    partial["app"] = app
    channel = HTTPChannel(protocol)
    try:
        await fused.respond_lazy(lazy, channel.receive, channel, channel.send_response)
    except Exception:
        if not channel.failed:
            raise
        # The app raised because the body never came (ClientDisconnect, usually): the
        # client's fault, not a server error; `finish` answers it.
        logger.info("request body incomplete (%d): %s %s", channel.failed, partial["method"], partial["path"])
    finally:
        if not channel.done:
            channel.finish()


async def _serve_through_call(app: Any, asgi: Scope, protocol: Any) -> None:
    """Answer one RSGI connection by calling the app as an ASGI app."""
    if asgi["type"] == "websocket":
        _add_subprotocols(asgi)
        await serve_websocket(app, asgi, protocol)
        return
    channel = HTTPChannel(protocol)
    try:
        await app(asgi, channel.receive, channel)
    finally:
        if not channel.done:
            channel.finish()


async def serve_asgi(app: ASGIApp, scope: Any, protocol: Any, state: dict[str, Any] | None = None) -> None:
    """Answer one RSGI connection with any ASGI `app`, through adapted receive/send."""
    asgi = asgi_scope(scope, state)
    if asgi["type"] == "websocket":
        await serve_websocket(app, asgi, protocol)
        return
    channel = HTTPChannel(protocol)
    try:
        await app(asgi, channel.receive, channel)
    except Exception:
        if not channel.failed:
            raise
        logger.info("request body incomplete (%d): %s %s", channel.failed, asgi["method"], asgi["path"])
    finally:
        channel.finish()


# --- websockets --------------------------------------------------------------------------------


class _WebSocketBridge:
    """ASGI receive/send for an RSGI websocket: accept, messages both ways, close."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.transport: Any = None
        self.connect_sent = False
        self.closed = False

    async def receive(self) -> Message:
        if not self.connect_sent:
            self.connect_sent = True
            return {"type": "websocket.connect"}
        if self.transport is None or self.closed:
            return {"type": "websocket.disconnect", "code": 1006, "reason": ""}
        message = await self.transport.receive()
        kind = int(message.kind)
        if kind == 1:
            return {"type": "websocket.receive", "bytes": message.data, "text": None}
        if kind == 2:
            return {"type": "websocket.receive", "bytes": None, "text": message.data}
        self.closed = True
        return {"type": "websocket.disconnect", "code": 1000, "reason": ""}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            if self.transport is None and not self.closed:
                self.transport = await self.protocol.accept()
        elif kind == "websocket.send":
            if self.transport is None or self.closed:
                raise RuntimeError('Unexpected ASGI message "websocket.send": the websocket is not open.')
            text = message.get("text")
            if text is not None:
                await self.transport.send_str(text)
            else:
                await self.transport.send_bytes(bytes(message.get("bytes") or b""))
        elif kind == "websocket.close":
            self.close(message.get("code", 1000))
        elif kind == "websocket.http.response.start":
            # RSGI cannot send a denial response: refuse the handshake instead.
            self.close(403)

    def close(self, code: int | None = 1000) -> None:
        if not self.closed:
            self.closed = True
            self.protocol.close(code)


async def serve_websocket(app: ASGIApp, scope: Scope, protocol: Any) -> None:
    """Run an ASGI websocket session over an RSGI websocket protocol."""
    bridge = _WebSocketBridge(protocol)
    try:
        await app(scope, bridge.receive, bridge.send)
    finally:
        bridge.close(1000 if bridge.transport is not None else 403)


# --- lifespan ------------------------------------------------------------------------------------


class Lifespan:
    """Drives an ASGI app's lifespan protocol for an RSGI server; holds the lifespan state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.inbox: asyncio.Queue[Message] | None = None
        self.outbox: asyncio.Queue[Message] | None = None
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        assert self.inbox is not None and self.outbox is not None
        scope = {"type": "lifespan", "asgi": _LIFESPAN_ASGI, "state": self.state}
        try:
            await self.app(scope, self.inbox.get, self.outbox.put)
        except BaseException as exc:
            await self.outbox.put({"type": "lifespan.error", "message": repr(exc)})
        else:
            # An app that returns at once on a lifespan scope does not speak lifespan either;
            # after a completed shutdown nobody reads this.
            await self.outbox.put({"type": "lifespan.error", "message": "returned"})

    async def _step(self, kind: str) -> None:
        assert self.inbox is not None and self.outbox is not None
        await self.inbox.put({"type": f"lifespan.{kind}"})
        reply = await self.outbox.get()
        if reply["type"] == "lifespan.error" and kind == "startup":
            # The app raised on the lifespan scope: it does not speak lifespan (uvicorn's "auto").
            logger.info("ASGI 'lifespan' protocol appears unsupported.")
            self.task = None
            return
        if reply["type"] != f"lifespan.{kind}.complete":
            logger.error("Lifespan %s failed: %s", kind, reply.get("message", ""))
            if kind == "startup":
                # As uvicorn does: no serving without a started app, and no second traceback.
                logger.error("Application startup failed. Exiting.")
                raise SystemExit(3)

    async def startup(self) -> None:
        """Start the lifespan task and wait for startup to complete (SystemExit(3) if it fails)."""
        self.inbox, self.outbox = asyncio.Queue(), asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._run())
        await self._step("startup")

    async def shutdown(self) -> None:
        """Ask the lifespan task to shut down and wait for it."""
        if self.task is None or self.task.done():
            return
        await self._step("shutdown")
        await self.task


def _run_on(loop: asyncio.AbstractEventLoop, coro: Awaitable[None]) -> None:
    # Granian's worker calls the hooks before its loop runs; its embedded server, from inside
    # the running loop, where they can only be scheduled.
    if loop.is_running():
        loop.create_task(coro)  # type: ignore[arg-type]
    else:
        loop.run_until_complete(coro)


def lifespan_startup(app: Any, loop: asyncio.AbstractEventLoop) -> None:
    """`__rsgi_init__` of a TachyonEngine: run its lifespan startup on `loop`."""
    lifespan = Lifespan(app)
    _app_state(app).lifespan = lifespan
    _run_on(loop, lifespan.startup())


def lifespan_shutdown(app: Any, loop: asyncio.AbstractEventLoop) -> None:
    """`__rsgi_del__` of a TachyonEngine: run its lifespan shutdown on `loop`."""
    lifespan = _app_state(app).lifespan
    if lifespan is not None:
        _run_on(loop, lifespan.shutdown())


class RSGIApp:
    """Serve any ASGI app over RSGI: `granian --interface rsgi module:RSGIApp(app)`-style wrapping."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lifespan = Lifespan(app)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        await serve_asgi(self.app, scope, protocol, self.lifespan.state)

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        _run_on(loop, self.lifespan.startup())

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        _run_on(loop, self.lifespan.shutdown())

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        await self.app(scope, receive, send)
