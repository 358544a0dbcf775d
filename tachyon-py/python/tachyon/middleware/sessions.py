"""`SessionMiddleware`: a dict in `scope["session"]`, kept in a signed cookie.

The cookie holds base64 JSON signed with an itsdangerous `TimestampSigner`, so it
can be read (not forged) by the client and expires after `max_age` seconds.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from typing import Any, Literal

import itsdangerous
from itsdangerous.exc import BadSignature

from tachyon.datastructures import MutableHeaders, Secret
from tachyon.requests import HTTPConnection
from tachyon.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Session", "SessionMiddleware"]

_EXPIRED = "expires=Thu, 01 Jan 1970 00:00:00 GMT; "


class SessionMiddleware:
    """Load the session from `session_cookie` and write it back when it changed."""

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | Secret,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,  # two weeks, in seconds
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
        partitioned: bool = False,
    ) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(str(secret_key))
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.path = path
        flags = ["httponly", "samesite=" + same_site]
        if https_only:
            flags.append("secure")
        if domain is not None:
            flags.append(f"domain={domain}")
        if partitioned:
            flags.append("partitioned")
        self.security_flags = "; ".join(flags)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # pragma: no cover
            await self.app(scope, receive, send)
            return

        cookies = HTTPConnection(scope).cookies
        had_session = False
        session = Session()
        if self.session_cookie in cookies:
            signed = cookies[self.session_cookie].encode("utf-8")
            try:
                payload = self.signer.unsign(signed, max_age=self.max_age)
            except BadSignature:
                pass  # tampered or expired: start afresh
            else:
                session = Session(json.loads(b64decode(payload)))
                had_session = True
        scope["session"] = session

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                current: Session = scope["session"]
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if current.accessed:
                    headers.add_vary_header("Cookie")
                if current.modified and current:
                    headers.append("Set-Cookie", self._cookie(self._encode(current), self._max_age_attr()))
                elif current.modified and had_session:
                    # Emptied: tell the browser to drop the cookie.
                    headers.append("Set-Cookie", self._cookie("null", _EXPIRED))
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _encode(self, session: dict[str, Any]) -> str:
        return self.signer.sign(b64encode(json.dumps(session).encode("utf-8"))).decode("utf-8")

    def _max_age_attr(self) -> str:
        return "" if self.max_age is None else f"Max-Age={self.max_age}; "

    def _cookie(self, value: str, lifetime: str) -> str:
        return f"{self.session_cookie}={value}; path={self.path}; {lifetime}{self.security_flags}"


class Session(dict[str, Any]):
    """A dict that records whether it was read (`accessed`) or changed (`modified`)."""

    accessed: bool = False
    modified: bool = False

    def mark_accessed(self) -> None:
        self.accessed = True

    def mark_modified(self) -> None:
        self.accessed = True
        self.modified = True

    def __setitem__(self, key: str, value: Any) -> None:
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)

    def clear(self) -> None:
        self.mark_modified()
        super().clear()

    def pop(self, key: str, *args: Any) -> Any:
        if key in self:
            self.mark_modified()
        return super().pop(key, *args)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.mark_modified()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.mark_modified()
        super().update(*args, **kwargs)

    def __ior__(self, other: Any, /) -> Session:  # type: ignore[override,misc]
        self.mark_modified()
        return super().__ior__(other)  # type: ignore[no-any-return]
