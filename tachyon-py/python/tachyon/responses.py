"""Responses: the body is rendered and the header list built once, at construction."""

from __future__ import annotations

import functools
import http.cookies
import json
import sys
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import quote

from tachyon.background import BackgroundTask
from tachyon.datastructures import URL, MutableHeaders
from tachyon.types import Message, Receive, Scope, Send

__all__ = ["HTMLResponse", "JSONResponse", "PlainTextResponse", "RedirectResponse", "Response"]

_NO_BODY_STATUSES = frozenset({204, 304})


def _check_header_value(name: str, value: str) -> None:
    # A CR or LF would let the app split the response (header injection); refuse it early.
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"Invalid header value for {name!r}: CR, LF and NUL are not allowed")


@functools.lru_cache(maxsize=256)
def _content_type(media_type: str, charset: str) -> bytes:
    # text/* gets the charset unless it names one; computed once per (type, charset).
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        media_type += "; charset=" + charset
    return media_type.encode("latin-1")


class Response:
    """An HTTP response with a body known up front.

    `content` may be str (encoded with `charset`), bytes, memoryview or None.
    """

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.init_headers(headers)

    def render(self, content: Any) -> bytes | memoryview:
        """Turn `content` into the body bytes."""
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, memoryview):
            return content.cast("B") if content.c_contiguous else content.tobytes()
        return content.encode(self.charset)  # type: ignore[no-any-return]

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build `raw_headers`: the given ones, then content-length and content-type if absent."""
        raw_headers: list[tuple[bytes, bytes]] = []
        need_length = need_type = True
        if headers is not None:
            for key, value in headers.items():
                _check_header_value(key, value)
                name = key.lower().encode("latin-1")
                if name == b"content-length":
                    need_length = False
                elif name == b"content-type":
                    need_type = False
                raw_headers.append((name, value.encode("latin-1")))

        body = getattr(self, "body", None)
        status = self.status_code
        if body is not None and need_length and not (status < 200 or status in _NO_BODY_STATUSES):
            raw_headers.append((b"content-length", b"%d" % len(body)))

        media_type = self.media_type
        if media_type is not None and need_type:
            raw_headers.append((b"content-type", _content_type(media_type, self.charset)))

        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        """The response headers, writable (changes go to `raw_headers`)."""
        try:
            return self._headers
        except AttributeError:
            self._headers: MutableHeaders = MutableHeaders(raw=self.raw_headers)
            return self._headers

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a Set-Cookie header."""
        cookie: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
        cookie[key] = value
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age  # type: ignore[assignment]
        if expires is not None:
            morsel["expires"] = (
                format_datetime(expires, usegmt=True) if isinstance(expires, datetime) else expires  # type: ignore[assignment]
            )
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True  # type: ignore[assignment]
        if httponly:
            morsel["httponly"] = True  # type: ignore[assignment]
        if samesite is not None:
            assert samesite.lower() in ("strict", "lax", "none"), "samesite must be either 'strict', 'lax' or 'none'"
            morsel["samesite"] = samesite
        if partitioned:
            if sys.version_info < (3, 14):
                raise ValueError("Partitioned cookies are only supported in Python 3.14 and above.")
            morsel["partitioned"] = True  # type: ignore[assignment]  # pragma: no cover
        self.raw_headers.append((b"set-cookie", cookie.output(header="").strip().encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a Set-Cookie header that expires the cookie now."""
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            send = _websocket_denial_send(send)
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})
        if self.background is not None:
            await self.background()


def _websocket_denial_send(send: Send) -> Send:
    # A response sent to a WebSocket scope is the denial response of the handshake.
    async def wrapped(message: Message) -> None:
        if message["type"] in ("http.response.start", "http.response.body"):
            message = {**message, "type": "websocket." + message["type"]}
        await send(message)

    return wrapped


class HTMLResponse(Response):
    """A `text/html` response."""

    media_type = "text/html"


class PlainTextResponse(Response):
    """A `text/plain` response."""

    media_type = "text/plain"


_json_dumps = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


class JSONResponse(Response):
    """An `application/json` response, byte-identical to Starlette's rendering."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        """Serialize `content` compactly, non-ASCII kept, NaN and infinities refused."""
        return _json_dumps(content).encode("utf-8")


class RedirectResponse(Response):
    """A redirect (307 by default) to `url`."""

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content=b"", status_code=status_code, headers=headers, background=background)
        self.headers["location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")
