"""Class-based endpoints: `HTTPEndpoint` (one method per HTTP verb) and `WebSocketEndpoint`.

Both are ASGI apps in the ASGI-2 style a Route accepts: the class is called with
`(scope, receive, send)` and the instance is awaited.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any, Literal

from tachyon import status
from tachyon._utils import is_async_callable
from tachyon.concurrency import run_in_threadpool
from tachyon.exceptions import HTTPException
from tachyon.requests import Request
from tachyon.responses import PlainTextResponse, Response
from tachyon.types import Message, Receive, Scope, Send
from tachyon.websockets import WebSocket

__all__ = ["HTTPEndpoint", "WebSocketEndpoint"]

# The order the Allow header lists methods in (Starlette's).
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY")


class HTTPEndpoint:
    """Dispatch a request to the method named for its verb (`get`, `post`, ...); HEAD falls back to `get`."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self.receive = receive
        self.send = send
        has_get = getattr(self, "get", None) is not None
        self._allowed_methods = [
            method
            for method in _METHOD_ORDER
            if getattr(self, method.lower(), None) is not None or (method == "HEAD" and has_get)
        ]

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Call the handler for the request's method and send its response."""
        request = Request(self.scope, receive=self.receive, send=self.send)
        method = request.method
        handler: Callable[[Request], Any]
        if method not in self._allowed_methods:
            handler = self.method_not_allowed
        elif method == "HEAD" and not hasattr(self, "head"):
            handler = self.get  # type: ignore[attr-defined]
        else:
            handler = getattr(self, method.lower())
        if is_async_callable(handler):
            response = await handler(request)
        else:
            response = await run_in_threadpool(handler, request)
        await response(self.scope, self.receive, self.send)

    async def method_not_allowed(self, request: Request) -> Response:
        """A 405 listing the implemented methods in Allow."""
        headers = {"Allow": ", ".join(self._allowed_methods)}
        # Inside an application, raise so its exception handlers shape the 405;
        # as a bare ASGI app, answer directly.
        if "app" in self.scope:
            raise HTTPException(status_code=405, headers=headers)
        return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)


class WebSocketEndpoint:
    """A WebSocket session as three hooks: `on_connect`, `on_receive(data)`, `on_disconnect(code)`.

    `encoding` ("text", "bytes", "json" or None) says how incoming messages are decoded
    before `on_receive`; a message of the wrong kind closes the session with 1003.
    """

    encoding: Literal["text", "bytes", "json"] | None = None

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Run the session: connect, feed each message to `on_receive`, then `on_disconnect`."""
        websocket = WebSocket(self.scope, receive=self.receive, send=self.send)
        await self.on_connect(websocket)
        close_code = status.WS_1000_NORMAL_CLOSURE
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    close_code = int(message.get("code") or status.WS_1000_NORMAL_CLOSURE)
                    break
                if message["type"] == "websocket.receive":
                    await self.on_receive(websocket, await self.decode(websocket, message))
        except Exception:
            close_code = status.WS_1011_INTERNAL_ERROR
            raise
        finally:
            await self.on_disconnect(websocket, close_code)

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        """Turn a `websocket.receive` message into the data `on_receive` gets, per `encoding`."""
        text = message.get("text")
        encoding = self.encoding
        if encoding == "text":
            if text is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected text websocket messages, but got bytes")
            return text
        if encoding == "bytes":
            if message.get("bytes") is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected bytes websocket messages, but got text")
            return message["bytes"]
        if encoding == "json":
            if text is None:
                text = message["bytes"].decode("utf-8")
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Malformed JSON data received.")  # noqa: B904 - Starlette chains implicitly
        assert encoding is None, f"Unsupported 'encoding' attribute {encoding}"
        return text if text is not None else message["bytes"]

    async def on_connect(self, websocket: WebSocket) -> None:
        """Called when the client connects; accepts by default. Override to check or refuse."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Called with each decoded message. Override to handle it."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Called once the session ends, with the close code (1011 if a hook raised)."""
