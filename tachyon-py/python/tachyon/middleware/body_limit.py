"""`RequestBodyLimitMiddleware`: refuse request bodies larger than a limit with 413.

A Content-Length over the limit is refused before the body is read; a body without one is
counted as it arrives. Nested limits (an app-wide one and a tighter one on a route) share
one responder through the scope, the innermost limit winning.
"""

from __future__ import annotations

from typing import cast

from tachyon.datastructures import Headers
from tachyon.exceptions import HTTPException
from tachyon.responses import PlainTextResponse
from tachyon.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_SIZE_SCOPE_KEY", "RequestBodyLimitMiddleware", "RequestBodyLimitResponder"]

# The scope keys keep Starlette's names so mixed Starlette/Tachyon stacks agree on them.
MAX_BODY_SIZE_SCOPE_KEY = "starlette.max_body_size"
_BODY_LIMIT_RESPONDER_SCOPE_KEY = "starlette._body_limit_responder"

_MISSING = object()


class _RequestBodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="Content Too Large")


class _RequestBodyLimitResponseSent(Exception):
    """The 413 went out in place of the app's response; stop quietly."""


def _too_large() -> PlainTextResponse:
    return PlainTextResponse("Content Too Large", status_code=413)


class RequestBodyLimitMiddleware:
    """Limit the total size of an HTTP request body to `max_body_size` bytes."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await RequestBodyLimitResponder(self.app, self.max_body_size)(scope, receive, send)


class RequestBodyLimitResponder:
    """One request's count of body bytes against the limit."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self._scope: Scope | None = None
        self._receive: Receive | None = None
        self._send: Send | None = None
        self.content_length: int | None = None
        self.total_size = 0
        self.response_started = False

    @property
    def scope(self) -> Scope:
        assert self._scope is not None
        return self._scope

    @property
    def receive(self) -> Receive:
        assert self._receive is not None
        return self._receive

    @property
    def send(self) -> Send:
        assert self._send is not None
        return self._send

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outer_limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY, _MISSING)
        scope[MAX_BODY_SIZE_SCOPE_KEY] = self.max_body_size

        active = cast("RequestBodyLimitResponder | None", scope.get(_BODY_LIMIT_RESPONDER_SCOPE_KEY))
        if active is not None:
            # An outer limit is already counting this body: tighten (or loosen) it to ours.
            active.max_body_size = self.max_body_size
            if active.total_size > active.max_body_size:
                raise _RequestBodyTooLarge
            return await self.app(scope, receive, send)

        self._scope, self._receive, self._send = scope, receive, send
        self.content_length = _get_content_length(scope)
        scope[_BODY_LIMIT_RESPONDER_SCOPE_KEY] = self
        try:
            await self.app(scope, self.receive_with_limit, self.send_with_limit)
        except _RequestBodyTooLarge:
            if self.response_started:
                raise
            await _too_large()(scope, receive, send)
        except _RequestBodyLimitResponseSent:
            pass
        finally:
            scope.pop(_BODY_LIMIT_RESPONDER_SCOPE_KEY, None)
            if outer_limit is _MISSING:
                scope.pop(MAX_BODY_SIZE_SCOPE_KEY, None)
            else:
                scope[MAX_BODY_SIZE_SCOPE_KEY] = outer_limit

    async def receive_with_limit(self) -> Message:
        if self.content_length is not None and self.content_length > self.max_body_size:
            raise _RequestBodyTooLarge
        message = await self.receive()
        if message["type"] == "http.request":
            self.total_size += len(message.get("body", b""))
            if self.total_size > self.max_body_size:
                raise _RequestBodyTooLarge
        return message

    async def send_with_limit(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.response_started = True
            if self.content_length is not None and self.content_length > self.max_body_size:
                # The app answered without reading the body; the declared size still
                # breaks the limit, so the 413 replaces its response.
                await _too_large()(self.scope, self.receive, self.send)
                raise _RequestBodyLimitResponseSent
        await self.send(message)


def _get_content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
