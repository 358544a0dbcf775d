"""WebSocket sessions: the `WebSocket` connection object, its states and its exceptions.

`WebSocket` wraps an ASGI websocket scope and enforces the protocol's message order on both
directions (what the client may send next, what the app may send next), with Starlette's
error messages.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from tachyon.exceptions import WebSocketJSONDecodeError
from tachyon.requests import HTTPConnection
from tachyon.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from tachyon.responses import Response

__all__ = [
    "WebSocket",
    "WebSocketClose",
    "WebSocketDisconnect",
    "WebSocketDisconnected",
    "WebSocketState",
]

# Starlette's WebSocket is generic in the type of `websocket.state` (`WebSocket[MyState]`);
# annotations evaluated at runtime (FastAPI's) need the subscription to work.
StateT = TypeVar("StateT")

_JSON_MODES = ("text", "binary")
_BAD_MODE = 'The "mode" argument should be "text" or "binary".'
_NOT_ACCEPTED = 'WebSocket is not connected. Need to call "accept" first.'


class WebSocketState(enum.Enum):
    """Where one side of a WebSocket session is: handshake, open, closed, or sending a denial."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


class WebSocketDisconnect(Exception):
    """The client closed the session (raised by the `receive_*` helpers)."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""


class WebSocketDisconnected(RuntimeError):
    """The WebSocket was used after it was closed (or before it was accepted)."""


class WebSocket(HTTPConnection, Generic[StateT]):
    """An ASGI websocket connection: the handshake scope plus checked receive and send."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        super().__init__(scope)
        assert scope["type"] == "websocket"
        self._receive = receive
        self._send = send
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING

    async def receive(self) -> Message:
        """Receive the next ASGI message from the client, checking it fits the session's state."""
        state = self.client_state
        if state is WebSocketState.CONNECTING:
            message = await self._receive()
            kind = message["type"]
            if kind != "websocket.connect":
                raise RuntimeError(f'Expected ASGI message "websocket.connect", but got {kind!r}')
            self.client_state = WebSocketState.CONNECTED
            return message
        if state is WebSocketState.CONNECTED:
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                self.client_state = WebSocketState.DISCONNECTED
            elif kind != "websocket.receive":
                raise RuntimeError(
                    f'Expected ASGI message "websocket.receive" or "websocket.disconnect", but got {kind!r}'
                )
            return message
        raise WebSocketDisconnected('Cannot call "receive" once a disconnect message has been received.')

    async def send(self, message: Message) -> None:
        """Send one ASGI message to the client, checking it fits the session's state."""
        state = self.application_state
        kind = message["type"]
        if state is WebSocketState.CONNECTING:
            if kind == "websocket.accept":
                self.application_state = WebSocketState.CONNECTED
            elif kind == "websocket.close":
                self.application_state = WebSocketState.DISCONNECTED
            elif kind == "websocket.http.response.start":
                self.application_state = WebSocketState.RESPONSE
            else:
                raise RuntimeError(
                    'Expected ASGI message "websocket.accept", "websocket.close" or "websocket.http.response.start", '
                    f"but got {kind!r}"
                )
            await self._send(message)
        elif state is WebSocketState.CONNECTED:
            if kind == "websocket.close":
                self.application_state = WebSocketState.DISCONNECTED
            elif kind != "websocket.send":
                raise RuntimeError(f'Expected ASGI message "websocket.send" or "websocket.close", but got {kind!r}')
            try:
                await self._send(message)
            except OSError:
                # The transport is gone: report it as an abnormal closure (1006).
                self.application_state = WebSocketState.DISCONNECTED
                raise WebSocketDisconnect(code=1006)  # noqa: B904 - Starlette chains the OSError implicitly
        elif state is WebSocketState.RESPONSE:
            if kind != "websocket.http.response.body":
                raise RuntimeError(f'Expected ASGI message "websocket.http.response.body", but got {kind!r}')
            if not message.get("more_body", False):
                self.application_state = WebSocketState.DISCONNECTED
            await self._send(message)
        else:
            raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Accept the handshake (waiting for the client's connect message first if needed)."""
        if self.client_state is WebSocketState.CONNECTING:
            await self.receive()
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": headers or []})

    async def _receive_data(self) -> Message:
        # The common part of receive_text/bytes/json: must be accepted; a disconnect raises.
        if self.application_state is not WebSocketState.CONNECTED:
            raise WebSocketDisconnected(_NOT_ACCEPTED)
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))
        return message

    async def receive_text(self) -> str:
        """Receive the next text message."""
        # _receive_data inline: one coroutine frame less per message of an echo loop.
        if self.application_state is not WebSocketState.CONNECTED:
            raise WebSocketDisconnected(_NOT_ACCEPTED)
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))
        return cast(str, message["text"])

    async def receive_bytes(self) -> bytes:
        """Receive the next binary message."""
        if self.application_state is not WebSocketState.CONNECTED:
            raise WebSocketDisconnected(_NOT_ACCEPTED)
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))
        return cast(bytes, message["bytes"])

    async def receive_json(self, mode: str = "text") -> Any:
        """Receive the next message and decode it as JSON, from a text or a binary frame.

        Invalid JSON raises `WebSocketJSONDecodeError`: a `json.JSONDecodeError` that is also
        a `WebSocketException(1007)`, so that, uncaught, it closes the connection with 1007.
        """
        if mode not in _JSON_MODES:
            raise RuntimeError(_BAD_MODE)
        message = await self._receive_data()
        text = message["text"] if mode == "text" else message["bytes"].decode("utf-8")
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if type(exc) is not json.JSONDecodeError:
                raise  # a patched json.loads raising its own subclass: leave it be
            raise WebSocketJSONDecodeError(exc.msg, exc.doc, exc.pos) from None

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield binary messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        """Yield JSON-decoded text messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: str = "text") -> None:
        """Send `data` as compact JSON, in a text or a binary frame."""
        if mode not in _JSON_MODES:
            raise RuntimeError(_BAD_MODE)
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": text})
        else:
            await self.send({"type": "websocket.send", "bytes": text.encode("utf-8")})

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session (or refuse the handshake, before accept) with `code` and `reason`."""
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: Response) -> None:
        """Refuse the handshake with an HTTP response, if the server supports that extension."""
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            raise RuntimeError("The server doesn't support the Websocket Denial Response extension.")
        await response(self.scope, self.receive, self.send)


class WebSocketClose:
    """An ASGI app that closes the WebSocket with `code` and `reason`."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": self.code, "reason": self.reason})
