"""Exceptions an endpoint raises to produce an HTTP or WebSocket error."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "HTTPException",
    "JSONBodyDecodeError",
    "StarletteDeprecationWarning",
    "TachyonDeprecationWarning",
    "WebSocketException",
    "WebSocketJSONDecodeError",
]


class HTTPException(Exception):
    """An error that becomes an HTTP response with `status_code` and `detail`.

    `detail` defaults to the standard reason phrase of the status code.
    """

    def __init__(self, status_code: int, detail: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        self.status_code = status_code
        self.detail = http.client.responses.get(status_code, "") if detail is None else detail
        self.headers = headers

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class WebSocketException(Exception):
    """An error that closes a WebSocket with `code` and `reason`."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class TachyonDeprecationWarning(UserWarning):
    """A deprecation that users should see by default (hence a UserWarning)."""


StarletteDeprecationWarning = TachyonDeprecationWarning


class JSONBodyDecodeError(json.JSONDecodeError, HTTPException):
    """Raised by `await request.json()` when the body is not valid JSON.

    It is a `json.JSONDecodeError`, so code written for Starlette that catches that keeps
    working; it is also an `HTTPException(400)`, so when nothing catches it the client gets
    a 400 instead of the 500 Starlette would send.
    """

    def __init__(self, msg: str, doc: str, pos: int) -> None:
        json.JSONDecodeError.__init__(self, msg, doc, pos)
        HTTPException.__init__(self, 400, f"Invalid JSON body: {self}")

    def __str__(self) -> str:
        return ValueError.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (self.msg, self.doc, self.pos)


# A close frame's reason is at most 123 bytes (RFC 6455 section 5.5: 125 with the code).
_MAX_CLOSE_REASON = 123


class WebSocketJSONDecodeError(json.JSONDecodeError, WebSocketException):
    """Raised by `await websocket.receive_json()` when the frame is not valid JSON.

    It is a `json.JSONDecodeError`, so code written for Starlette that catches that keeps
    working; it is also a `WebSocketException(1007)` ("invalid frame payload data", RFC 6455),
    so when nothing catches it the connection closes with 1007 and a reason instead of being
    dropped with no close code.
    """

    def __init__(self, msg: str, doc: str, pos: int) -> None:
        json.JSONDecodeError.__init__(self, msg, doc, pos)
        reason = f"Invalid JSON: {self}".encode()[:_MAX_CLOSE_REASON].decode("utf-8", "ignore")
        WebSocketException.__init__(self, 1007, reason)

    def __str__(self) -> str:
        return ValueError.__str__(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(msg={self.msg!r}, pos={self.pos!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (self.msg, self.doc, self.pos)
