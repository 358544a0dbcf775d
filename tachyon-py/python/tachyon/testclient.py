"""TestClient: an httpx.Client that calls an ASGI app in-process, as Starlette's does.

Requests run the app inside an anyio blocking portal (a background event loop thread);
`with TestClient(app) as client:` also runs the app's lifespan around the block.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import warnings
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import Future
from typing import Any, Literal, TypedDict, cast
from urllib.parse import unquote

import anyio
import anyio.from_thread
from anyio.streams.stapled import StapledObjectStream

from tachyon.exceptions import TachyonDeprecationWarning

# Starlette 1.10's client sits on httpx2 (httpx's successor), falling back to httpx with a warning.
try:
    import httpx2 as httpx
except ModuleNotFoundError:  # pragma: no cover
    try:
        import httpx  # type: ignore[no-redef]
    except ModuleNotFoundError:
        raise RuntimeError(
            "The tachyon.testclient module requires the httpx2 package to be installed.\n"
            "You can install this with:\n"
            "    $ pip install httpx2\n"
        ) from None
    else:
        warnings.warn(
            "Using `httpx` with `tachyon.testclient` is deprecated; install `httpx2` instead.",
            TachyonDeprecationWarning,
            stacklevel=2,
        )
from tachyon.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["TestClient"]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


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


class _TestClientTransport(httpx.BaseTransport):
    def __init__(
        self,
        app: ASGIApp,
        portal_factory: Callable[[], contextlib.AbstractContextManager[anyio.from_thread.BlockingPortal]],
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

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        host = url.raw_host.decode("ascii")
        port = url.port if url.port is not None else _DEFAULT_PORTS[scheme]

        headers: list[tuple[bytes, bytes]] = []
        if "host" not in request.headers:
            headers.append((b"host", url.netloc))
        headers += [(key.lower().encode(), value.encode()) for key, value in request.headers.multi_items()]

        if scheme in ("ws", "wss"):
            raise NotImplementedError("TestClient.websocket_connect is not supported yet")

        scope: dict[str, Any] = {
            "type": "http",
            "http_version": "1.1",
            "method": request.method,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "root_path": self.root_path,
            "scheme": scheme,
            "query_string": url.query,
            "headers": headers,
            "client": self.client,
            "server": [host, port],
            "extensions": {"http.response.debug": {}},
            "state": self.app_state.copy(),
        }

        request_complete = False
        response_started = False
        response_complete = False
        status_code = 500
        response_headers: list[tuple[str, str]] = []
        body_parts: list[bytes] = []
        template = context = None

        async def receive() -> Message:
            nonlocal request_complete
            if request_complete:
                # The app asked for more after the body: it only ends when the response does.
                while not response_complete:
                    await anyio.sleep(0.001)
                return {"type": "http.disconnect"}
            body = request.read()
            request_complete = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal response_started, response_complete, status_code, response_headers, template, context
            kind = message["type"]
            if kind == "http.response.start":
                assert not response_started, 'Received multiple "http.response.start" messages.'
                status_code = message["status"]
                response_headers = [(k.decode(), v.decode()) for k, v in message.get("headers", [])]
                response_started = True
            elif kind == "http.response.body":
                assert response_started, 'Received "http.response.body" without "http.response.start".'
                assert not response_complete, 'Received "http.response.body" after response completed.'
                if request.method != "HEAD":
                    body_parts.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    response_complete = True
            elif kind == "http.response.debug":
                template = message["info"]["template"]
                context = message["info"]["context"]

        error: BaseException | None = None
        with self.portal_factory() as portal:
            try:
                portal.call(self.app, scope, receive, send)
            except BaseException as exc:
                if self.raise_server_exceptions:
                    raise
                error = exc

        if not response_started:
            if self.raise_server_exceptions or error is None:
                raise AssertionError("TestClient did not receive any response.")
            return httpx.Response(500, headers=[], content=b"", request=request)

        response = httpx.Response(
            status_code, headers=response_headers, stream=httpx.ByteStream(b"".join(body_parts)), request=request
        )
        if template is not None:
            response.template = template  # type: ignore[attr-defined]
            response.context = context  # type: ignore[attr-defined]
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
                "You should not use the 'timeout' argument with the TestClient.",
                TachyonDeprecationWarning,
                stacklevel=2,
            )
        return super().request(method, self._merge_url(url), timeout=timeout, **kwargs)

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
        await self.stream_receive.send({"type": "lifespan.startup"})
        message = await self._next_from_app()
        assert message["type"] in ("lifespan.startup.complete", "lifespan.startup.failed")
        if message["type"] == "lifespan.startup.failed":
            await self._next_from_app()

    async def wait_shutdown(self) -> None:
        """Send lifespan.shutdown and wait for the app's answer."""
        await self.stream_receive.send({"type": "lifespan.shutdown"})
        message = await self._next_from_app()
        assert message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed")
        if message["type"] == "lifespan.shutdown.failed":
            await self._next_from_app()
