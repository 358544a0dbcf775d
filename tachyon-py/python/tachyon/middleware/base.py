"""`BaseHTTPMiddleware`: write middleware as `async def dispatch(request, call_next)`.

The downstream app runs in a task of its own; its messages travel through a memory stream
to `call_next`, which hands back a response whose body streams from that task.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Mapping, MutableMapping
from contextlib import aclosing
from typing import Any, TypeVar

import anyio
import anyio.abc

from tachyon._utils import create_collapsing_task_group
from tachyon.requests import ClientDisconnect, Request
from tachyon.responses import Response
from tachyon.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BaseHTTPMiddleware", "DispatchFunction", "RequestResponseEndpoint"]

RequestResponseEndpoint = Callable[[Request], Awaitable[Response]]
DispatchFunction = Callable[[Request, RequestResponseEndpoint], Awaitable[Response]]
BodyStreamGenerator = AsyncGenerator[bytes | MutableMapping[str, Any], None]
AsyncContentStream = AsyncIterable[str | bytes | memoryview | MutableMapping[str, Any]]
T = TypeVar("T")

_DISCONNECT: Message = {"type": "http.disconnect"}


class _CachedRequest(Request):
    """The request `dispatch` sees, whose body the downstream app can still read.

    If `dispatch` read the whole body, the app receives it again as one message; if
    `dispatch` drained `stream()`, the app receives an empty body (rather than waiting
    forever); otherwise the app's reads pass through to the client.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        super().__init__(scope, receive, send)
        self._downstream_disconnected = False
        self._downstream_consumed = False

    async def wrapped_receive(self) -> Message:
        if self._downstream_disconnected:
            # The app was already told; servers repeat the disconnect, so do we.
            return dict(_DISCONNECT)

        if self._downstream_consumed:
            # The app has the whole body; all that can follow is the disconnect.
            if self._is_disconnected:
                self._downstream_disconnected = True
                return dict(_DISCONNECT)
            message = await self.receive()
            if message["type"] != "http.disconnect":  # pragma: no cover
                raise RuntimeError(f"Unexpected message received: {message['type']}")
            self._downstream_disconnected = True
            return message

        if getattr(self, "_body", None) is not None:
            # dispatch() read the body: replay it, even if the client has since gone.
            self._downstream_consumed = True
            return {"type": "http.request", "body": self._body, "more_body": False}

        if self._stream_consumed:
            # dispatch() drained stream(): nothing is left to give.
            self._downstream_consumed = True
            return {"type": "http.request", "body": b"", "more_body": False}

        try:
            async with aclosing(self.stream()) as stream:
                chunk = await stream.__anext__()
        except ClientDisconnect:
            self._downstream_disconnected = True
            return dict(_DISCONNECT)
        self._downstream_consumed = self._stream_consumed
        return {"type": "http.request", "body": chunk, "more_body": not self._stream_consumed}


class BaseHTTPMiddleware:
    """Subclass and override `dispatch`, or pass `dispatch=` a function of the same shape."""

    def __init__(self, app: ASGIApp, dispatch: DispatchFunction | None = None) -> None:
        self.app = app
        self.dispatch_func = self.dispatch if dispatch is None else dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request = _CachedRequest(scope, receive, send)
        wrapped_receive = request.wrapped_receive
        response_sent = anyio.Event()
        app_exc: Exception | None = None
        app_exc_raised = False

        async def call_next(request: Request) -> Response:
            async def receive_or_disconnect() -> Message:
                # Once the outer response is out, the app gets a disconnect, not a hang.
                if response_sent.is_set():
                    return dict(_DISCONNECT)

                async with anyio.create_task_group() as race:

                    async def first_wins(func: Callable[[], Awaitable[T]]) -> T:
                        result = await func()
                        race.cancel_scope.cancel()
                        return result

                    race.start_soon(first_wins, response_sent.wait)
                    message = await first_wins(wrapped_receive)

                if response_sent.is_set():
                    return dict(_DISCONNECT)
                return message

            async def send_no_error(message: Message) -> None:
                try:
                    await send_stream.send(message)
                except anyio.BrokenResourceError:
                    # The receiving end is closed: the outer response has been sent.
                    return
                if message["type"] == "http.response.pathsend" or (
                    message["type"] == "http.response.body" and not message.get("more_body", False)
                ):
                    # Keep the app's task alive (for its background tasks) until the
                    # outer response has gone out.
                    await response_sent.wait()

            async def run_app() -> None:
                nonlocal app_exc
                with send_stream:
                    try:
                        await self.app(scope, receive_or_disconnect, send_no_error)
                    except Exception as exc:
                        app_exc = exc

            task_group.start_soon(run_app)

            info = None
            try:
                while True:
                    message = await recv_stream.receive()
                    if message["type"] == "http.response.debug":
                        info = message["info"]
                    elif message["type"] == "http.response.early_hint":
                        await send(message)
                    else:
                        break
            except anyio.EndOfStream:
                if app_exc is not None:
                    nonlocal app_exc_raised
                    app_exc_raised = True
                    # Re-raise without anyio.EndOfStream as the context: keep the app
                    # exception's own cause, or promote its context to the cause.
                    raise app_exc from app_exc.__cause__ or app_exc.__context__
                # Keeps EndOfStream as the context, as Starlette's traceback does.
                raise RuntimeError("No response returned.")  # noqa: B904

            assert message["type"] == "http.response.start"

            async def body_stream() -> BodyStreamGenerator:
                async for message in recv_stream:
                    if message["type"] == "http.response.pathsend":
                        yield message
                        break
                    assert message["type"] == "http.response.body", f"Unexpected message: {message}"
                    body = message.get("body", b"")
                    if body:
                        yield body
                    if not message.get("more_body", False):
                        break

            response = _StreamingResponse(status_code=message["status"], content=body_stream(), info=info)
            response.raw_headers = message.get("headers", [])
            return response

        send_stream, recv_stream = anyio.create_memory_object_stream[Message]()
        with recv_stream, send_stream:
            async with create_collapsing_task_group() as task_group:
                response = await self.dispatch_func(request, call_next)
                await response(scope, wrapped_receive, send)
                response_sent.set()
                recv_stream.close()
        if app_exc is not None and not app_exc_raised:
            raise app_exc

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        raise NotImplementedError()  # pragma: no cover


class _StreamingResponse(Response):
    """What `call_next` returns: the app's status and headers, its body streamed through."""

    def __init__(
        self,
        content: AsyncContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.info = info
        self.body_iterator = content
        self.status_code = status_code
        self.media_type = media_type
        self.init_headers(headers)
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.info is not None:
            await send({"type": "http.response.debug", "info": self.info})
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})

        close_body = True
        async for chunk in self.body_iterator:
            if isinstance(chunk, dict):
                # A non-body ASGI message (pathsend) ends the response by itself.
                close_body = False
                await send(chunk)
                continue
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        if close_body:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        if self.background:
            await self.background()
