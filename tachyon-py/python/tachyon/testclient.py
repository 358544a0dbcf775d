"""TestClient: an httpx.Client that calls an ASGI app in-process, as Starlette's does.

Requests run the app inside an anyio blocking portal (a background event loop thread);
`with TestClient(app) as client:` also runs the app's lifespan around the block.
Response bodies are streamed from the app as they are read, so `client.stream(...)` works on
endless bodies; `websocket_connect` opens a WebSocket session with the app.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import warnings
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import Any, Literal, TypedDict, cast
from urllib.parse import unquote, urljoin

import anyio
import anyio.abc
import anyio.from_thread
from anyio.streams.stapled import StapledObjectStream

from tachyon.compat import package_name
from tachyon.exceptions import TachyonDeprecationWarning

# Starlette 1.10's client sits on httpx2 (httpx's successor), falling back to httpx with a warning.
try:
    import httpx2 as httpx
except ModuleNotFoundError:  # pragma: no cover
    try:
        import httpx  # type: ignore[no-redef]
    except ModuleNotFoundError:
        raise RuntimeError(
            f"The {package_name()}.testclient module requires the httpx2 package to be installed.\n"
            "You can install this with:\n"
            "    $ pip install httpx2\n"
        ) from None
    else:
        warnings.warn(
            f"Using `httpx` with `{package_name()}.testclient` is deprecated; install `httpx2` instead.",
            TachyonDeprecationWarning,
            stacklevel=2,
        )
from tachyon.types import ASGIApp, Message, Receive, Scope, Send
from tachyon.websockets import WebSocketDisconnect

__all__ = ["TestClient", "WebSocketDenialResponse", "WebSocketTestSession"]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

# The type aliases Starlette's testclient module exports (tests and users import them from here).
ASGIInstance = Callable[[Receive, Send], Awaitable[None]]
ASGI2App = Callable[[Scope], ASGIInstance]
ASGI3App = Callable[[Scope, Receive, Send], Awaitable[None]]
_RequestData = Mapping[str, str | Iterable[str] | bytes]


def _is_asgi3(app: Any) -> bool:
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__)


class _WrapASGI2:
    """Adapts a two-step ASGI 2 app (`app(scope)(receive, send)`) to ASGI 3."""

    def __init__(self, app: Callable[[Scope], Callable[[Receive, Send], Awaitable[None]]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.app(scope)
        await instance(receive, send)


class _AsyncBackend(TypedDict):
    backend: str
    backend_options: dict[str, Any]


_PortalFactory = Callable[[], contextlib.AbstractContextManager[anyio.from_thread.BlockingPortal]]


_PortalFactoryType = _PortalFactory  # Starlette's name for it


class _Upgrade(Exception):
    """Raised by the transport for a ws:// request, carrying the session to hand back."""

    def __init__(self, session: WebSocketTestSession) -> None:
        self.session = session


class WebSocketDenialResponse(  # type: ignore[misc]
    httpx.Response,
    WebSocketDisconnect,
):
    """The HTTP response an app sent instead of accepting the WebSocket (`send_denial_response`).

    It is both an httpx Response (status, headers, body) and a WebSocketDisconnect.
    """


class WebSocketTestSession:
    """One WebSocket session with the app, driven synchronously from the test.

    The app runs as a task in the client's portal; messages cross over two unbounded
    memory streams. Entering performs the handshake; leaving sends a 1000 disconnect,
    cancels the app task and re-raises anything the app raised.
    """

    def __init__(self, app: ASGIApp, scope: Scope, portal_factory: _PortalFactory) -> None:
        self.app = app
        self.scope = scope
        self.portal_factory = portal_factory
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] | None = None

    def __enter__(self) -> WebSocketTestSession:
        with contextlib.ExitStack() as stack:
            self.portal = portal = stack.enter_context(self.portal_factory())
            app_future, cancel_scope = portal.start_task(self._run)
            # Unwound in reverse: disconnect, cancel the task, then surface its exception.
            stack.callback(app_future.result)
            stack.callback(portal.call, cancel_scope.cancel)
            self.send({"type": "websocket.connect"})
            message = self.receive()
            self._raise_on_close(message)
            self.accepted_subprotocol = message.get("subprotocol", None)
            self.extra_headers = message.get("headers", None)
            stack.callback(self.close, 1000)
            self.exit_stack = stack.pop_all()
        return self

    def __exit__(self, *args: Any) -> bool | None:
        return self.exit_stack.__exit__(*args)

    async def _run(self, *, task_status: anyio.abc.TaskStatus[anyio.CancelScope]) -> None:
        # Runs in the portal's event loop thread.
        to_test_tx, to_test_rx = anyio.create_memory_object_stream[Message](math.inf)
        to_app_tx, to_app_rx = anyio.create_memory_object_stream[Message](math.inf)
        with to_test_tx, to_test_rx, to_app_tx, to_app_rx, anyio.CancelScope() as cancel_scope:
            self._receive_tx = to_app_tx
            self._send_rx = to_test_rx
            task_status.started(cancel_scope)
            await self.app(self.scope, to_app_rx.receive, to_test_tx.send)
            # Keep the streams open (messages may still be unread) until the session is left.
            await anyio.sleep_forever()

    def _raise_on_close(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.close":
            raise WebSocketDisconnect(code=message.get("code", 1000), reason=message.get("reason", ""))
        if kind == "websocket.http.response.start":
            status_code: int = message["status"]
            headers: list[tuple[bytes, bytes]] = message["headers"]
            chunks: list[bytes] = []
            more_body = True
            while more_body:
                part = self.receive()
                assert part["type"] == "websocket.http.response.body"
                chunks.append(part["body"])
                more_body = part.get("more_body", False)
            raise WebSocketDenialResponse(status_code=status_code, headers=headers, content=b"".join(chunks))

    def send(self, message: Message) -> None:
        """Put one raw ASGI message in the app's receive queue."""
        self.portal.call(self._receive_tx.send, message)

    def send_text(self, data: str) -> None:
        """Send a text frame."""
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary frame."""
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send `data` as compact JSON in a text (default) or binary frame."""
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            self.send({"type": "websocket.receive", "text": text})
        else:
            self.send({"type": "websocket.receive", "bytes": text.encode("utf-8")})

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Disconnect from the client side."""
        self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    def receive(self) -> Message:
        """The next raw ASGI message the app sent (blocks until there is one)."""
        return cast(Message, self.portal.call(self._send_rx.receive))

    def receive_text(self) -> str:
        """The next text frame; raises WebSocketDisconnect if the app closed instead."""
        message = self.receive()
        self._raise_on_close(message)
        return cast(str, message["text"])

    def receive_bytes(self) -> bytes:
        """The next binary frame; raises WebSocketDisconnect if the app closed instead."""
        message = self.receive()
        self._raise_on_close(message)
        return cast(bytes, message["bytes"])

    def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """The next frame decoded as JSON; raises WebSocketDisconnect if the app closed instead."""
        message = self.receive()
        self._raise_on_close(message)
        text = message["text"] if mode == "text" else message["bytes"].decode("utf-8")
        return json.loads(text)


class _ResponseStream(httpx.SyncByteStream):
    """The body of a response still being produced by the app; closing it ends the exchange."""

    def __init__(self, chunks: Iterator[bytes], exit_stack: contextlib.ExitStack) -> None:
        self._chunks = chunks
        self._exit_stack = exit_stack

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._exit_stack.close()


_TestClientResponseStream = _ResponseStream  # Starlette's name for it


class _Exchange:
    """One HTTP request/response with the app, running as a task in the portal.

    The app's body chunks pass through a zero-capacity stream, so the app only runs ahead
    of the reader by one chunk: an endless streaming body is read lazily, never buffered.
    """

    def __init__(self, request: httpx.Request, scope: Scope) -> None:
        self.request = request
        self.scope = scope
        self.request_complete = False
        self.response_started = False
        self.body_complete = False
        self.trailers_expected = False
        self.trailers: list[tuple[bytes, bytes]] = []
        self.status_code = 500
        self.headers: list[tuple[str, str]] = []
        self.debug_info: dict[str, Any] | None = None

    async def setup(self) -> None:
        """Create the loop-bound primitives (called in the portal's thread)."""
        self.response_available = anyio.Event()
        self.response_complete = anyio.Event()
        self.body_tx, self.body_rx = anyio.create_memory_object_stream[tuple[bytes, bool]](0)
        self.cancel_scope = anyio.CancelScope()

    async def run(self, app: ASGIApp) -> None:
        try:
            with self.cancel_scope:
                async with self.body_tx:
                    await app(self.scope, self.receive, self.send)
        finally:
            self.response_available.set()

    async def receive(self) -> Message:
        if self.request_complete:
            # Past the body, the next thing a client reports is the disconnect after the response.
            # Once the response is complete the disconnect is immediate, with no checkpoint, so
            # `Request.is_disconnected()` (which receives in a cancelled scope) sees it.
            if not self.response_complete.is_set():
                await self.response_complete.wait()
            return {"type": "http.disconnect"}
        self.request_complete = True
        return {"type": "http.request", "body": self.request.read()}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            assert not self.response_started, 'Received multiple "http.response.start" messages.'
            self.status_code = message["status"]
            self.headers = [(key.decode(), value.decode()) for key, value in message.get("headers", [])]
            self.response_started = True
            self.trailers_expected = message.get("trailers", False)
            self.response_available.set()
        elif kind == "http.response.body":
            assert self.response_started, 'Received "http.response.body" without "http.response.start".'
            assert not self.response_complete.is_set(), 'Received "http.response.body" after response completed.'
            assert not self.body_complete, 'Received "http.response.body" after body completed.'
            more_body = message.get("more_body", False)
            await self.body_tx.send((bytes(message.get("body", b"")), not more_body and not self.trailers_expected))
            if not more_body:
                self.body_complete = True
        elif kind == "http.response.trailers":
            assert self.trailers_expected, 'Received "http.response.trailers" without declaring trailers.'
            assert self.body_complete, 'Received "http.response.trailers" before body completed.'
            assert not self.response_complete.is_set(), 'Received "http.response.trailers" after response completed.'
            self.trailers.extend(message.get("headers", []))
            if not message.get("more_trailers", False):
                self.response_complete.set()
        elif kind == "http.response.debug":
            self.debug_info = message["info"]

    async def next_chunk(self) -> bytes:
        """The next body chunk; anyio.EndOfStream once the app has finished."""
        chunk, last = await self.body_rx.receive()
        if last:
            self.response_complete.set()
        return chunk

    async def cancel_if_incomplete(self) -> None:
        if not self.response_complete.is_set():
            self.cancel_scope.cancel()


class _TestClientTransport(httpx.BaseTransport):
    def __init__(
        self,
        app: ASGIApp,
        portal_factory: _PortalFactory,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        *,
        client: tuple[str, int],
        app_state: dict[str, Any],
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.portal_factory = portal_factory
        self.app_state = app_state
        self.client = client
        # Aborters of responses whose body is still open, run when the client closes.
        self._open_requests: set[Callable[[], None]] = set()

    def close(self) -> None:
        with contextlib.ExitStack() as stack:
            while self._open_requests:
                stack.callback(self._open_requests.pop())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        host = url.raw_host.decode("ascii")
        port = url.port if url.port is not None else _DEFAULT_PORTS[scheme]

        headers: list[tuple[bytes, bytes]] = []
        if "host" not in request.headers:
            headers.append((b"host", url.netloc))
        headers += [(key.lower().encode(), value.encode()) for key, value in request.headers.multi_items()]

        common: dict[str, Any] = {
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "root_path": self.root_path,
            "scheme": scheme,
            "query_string": url.query,
            "headers": headers,
            "client": self.client,
            "server": [host, port],
        }

        if scheme in ("ws", "wss"):
            offered = request.headers.get("sec-websocket-protocol", None)
            subprotocols = [] if offered is None else [value.strip() for value in offered.split(",")]
            ws_scope = {
                "type": "websocket",
                **common,
                "subprotocols": subprotocols,
                "state": self.app_state.copy(),
                "extensions": {"websocket.http.response": {}},
            }
            raise _Upgrade(WebSocketTestSession(self.app, ws_scope, self.portal_factory))

        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": request.method,
            **common,
            "extensions": {"http.response.debug": {}, "http.response.trailers": {}},
            "state": self.app_state.copy(),
        }
        return self._exchange(request, scope)

    def _exchange(self, request: httpx.Request, scope: Scope) -> httpx.Response:
        exchange = _Exchange(request, scope)
        app_task: Future[None] | None = None
        is_head = request.method == "HEAD"

        def finish(exc_type: type[BaseException] | None, *_: Any) -> None:
            # Runs when the response is closed (or the exchange fails before one exists):
            # stop an app that is still producing, wait for it, and surface its exception.
            if app_task is None:  # pragma: no cover - only if a signal lands inside start_task_soon
                portal.call(exchange.cancel_scope.cancel)
                return
            if not app_task.done():
                portal.call(exchange.cancel_if_incomplete)
            wait_futures([app_task])
            self._open_requests.discard(abort)
            if exc_type is None and self.raise_server_exceptions:
                error = app_task.exception()
                if error is not None:
                    raise error

        def abort() -> None:
            portal.call(exchange.cancel_scope.cancel)
            exit_stack.close()

        def chunks() -> Generator[bytes, None, None]:
            while True:
                try:
                    chunk = portal.call(exchange.next_chunk)
                except anyio.EndOfStream:
                    break
                if chunk and not is_head:
                    yield chunk
            exit_stack.close()

        with contextlib.ExitStack() as stack:
            portal = stack.enter_context(self.portal_factory())
            portal.call(exchange.setup)
            stack.callback(exchange.body_tx.close)
            stack.callback(exchange.body_rx.close)
            stack.push(finish)
            app_task = portal.start_task_soon(exchange.run, self.app)
            portal.call(exchange.response_available.wait)

            if not exchange.response_started:
                stack.close()
                if self.raise_server_exceptions:
                    raise AssertionError("TestClient did not receive any response.")
                return httpx.Response(500, headers=[], stream=httpx.ByteStream(b""), request=request)
            exit_stack = stack.pop_all()

        self._open_requests.add(abort)
        response = httpx.Response(
            exchange.status_code,
            headers=exchange.headers,
            stream=_ResponseStream(chunks(), exit_stack),
            request=request,
        )
        if exchange.trailers_expected:
            response.extensions["http.response.trailers"] = exchange.trailers
        debug_info = exchange.debug_info
        if debug_info is not None:
            response.extensions["http.response.debug"] = debug_info
            if "template" in debug_info:
                response.template = debug_info["template"]  # type: ignore[attr-defined]
            if "context" in debug_info:
                response.context = debug_info["context"]  # type: ignore[attr-defined]
        return response


class TestClient(httpx.Client):
    """A synchronous HTTP client for testing an ASGI app without a server."""

    __test__ = False
    task: Future[None]
    portal: anyio.from_thread.BlockingPortal | None = None

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: Literal["asyncio", "trio"] = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: httpx._types.CookieTypes | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        self.async_backend = _AsyncBackend(backend=backend, backend_options=backend_options or {})
        asgi_app = app if _is_asgi3(app) else _WrapASGI2(cast(Any, app))
        self.app = cast(ASGIApp, asgi_app)
        self.app_state: dict[str, Any] = {}
        transport = _TestClientTransport(
            self.app,
            portal_factory=self._portal_factory,
            raise_server_exceptions=raise_server_exceptions,
            root_path=root_path,
            app_state=self.app_state,
            client=client,
        )
        headers = {} if headers is None else headers
        headers.setdefault("user-agent", "testclient")
        super().__init__(
            base_url=base_url,
            headers=headers,
            transport=transport,
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    @contextlib.contextmanager
    def _portal_factory(self) -> Generator[anyio.from_thread.BlockingPortal, None, None]:
        if self.portal is not None:
            yield self.portal
        else:
            with anyio.from_thread.start_blocking_portal(**self.async_backend) as portal:
                yield portal

    def request(  # type: ignore[override]
        self,
        method: str,
        url: httpx._types.URLTypes,
        *,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
        **kwargs: Any,
    ) -> httpx.Response:
        if timeout is not httpx.USE_CLIENT_DEFAULT:
            warnings.warn(
                "You should not use the 'timeout' argument with the TestClient. "
                "See https://github.com/Kludex/starlette/issues/1108 for more information.",
                TachyonDeprecationWarning,
                stacklevel=2,
            )
        return super().request(method, self._merge_url(url), timeout=timeout, **kwargs)

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> WebSocketTestSession:
        """Open a WebSocket session with the app; use it as a context manager to connect."""
        url = urljoin("ws://testserver", url)
        # As Starlette's client does, the handshake headers go into the caller's dict.
        headers = kwargs.get("headers", {})
        headers.setdefault("connection", "upgrade")
        headers.setdefault("sec-websocket-key", "testserver==")
        headers.setdefault("sec-websocket-version", "13")
        if subprotocols is not None:
            headers.setdefault("sec-websocket-protocol", ", ".join(subprotocols))
        kwargs["headers"] = headers
        try:
            super().request("GET", url, **kwargs)
        except _Upgrade as upgrade:
            return upgrade.session
        raise RuntimeError("Expected WebSocket upgrade")  # pragma: no cover

    def __enter__(self) -> TestClient:
        with contextlib.ExitStack() as stack:
            self.portal = portal = stack.enter_context(anyio.from_thread.start_blocking_portal(**self.async_backend))

            @stack.callback
            def reset_portal() -> None:
                self.portal = None

            to_app = anyio.create_memory_object_stream[Message](math.inf)
            from_app = anyio.create_memory_object_stream[Message | None](math.inf)
            for channel in (*to_app, *from_app):
                stack.callback(channel.close)
            self.stream_send = StapledObjectStream(*from_app)
            self.stream_receive = StapledObjectStream(*to_app)
            self.task = portal.start_task_soon(self.lifespan)
            portal.call(self.wait_startup)

            @stack.callback
            def wait_shutdown() -> None:
                portal.call(self.wait_shutdown)

            # Responses still streaming when the block ends are cancelled first.
            stack.callback(self._transport.close)
            self.exit_stack = stack.pop_all()
        return self

    def __exit__(self, *args: Any) -> None:
        self.exit_stack.close()

    async def lifespan(self) -> None:
        """Run the app with a lifespan scope until shutdown."""
        scope = {"type": "lifespan", "state": self.app_state}
        try:
            await self.app(scope, self.stream_receive.receive, self.stream_send.send)
        finally:
            await self.stream_send.send(None)

    async def _next_from_app(self) -> Any:
        message = await self.stream_send.receive()
        if message is None:
            self.task.result()
        return message

    async def wait_startup(self) -> None:
        """Send lifespan.startup and wait for the app's answer."""
        await self._lifespan("startup")

    async def wait_shutdown(self) -> None:
        """Send lifespan.shutdown and wait for the app's answer."""
        await self._lifespan("shutdown")

    async def _lifespan(self, phase: str) -> None:
        await self.stream_receive.send({"type": f"lifespan.{phase}"})
        message = await self._next_from_app()
        assert message["type"] in (f"lifespan.{phase}.complete", f"lifespan.{phase}.failed")
        if message["type"] == f"lifespan.{phase}.failed":
            await self._next_from_app()
