"""Responses: the body is rendered and the header list built once, at construction."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import http.cookies
import json
import os
import stat
import sys
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from datetime import datetime
from email.utils import format_datetime, formatdate
from mimetypes import guess_type
from secrets import token_hex
from typing import Any, Literal, NoReturn
from urllib.parse import quote

import anyio
import anyio.abc
import anyio.to_thread

from tachyon._tachyon import content_length_header, json_dumps, json_response_init, render_set_cookie
from tachyon._tachyon import parse_range_header as _native_parse_range_header
from tachyon._utils import create_collapsing_task_group
from tachyon.background import BackgroundTask
from tachyon.concurrency import iterate_in_threadpool
from tachyon.datastructures import URL, Headers, MutableHeaders
from tachyon.requests import ClientDisconnect
from tachyon.types import Message, Receive, Scope, Send

__all__ = [
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "MalformedRangeHeader",
    "PlainTextResponse",
    "RangeNotSatisfiable",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
]


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
        if body is not None and need_length:
            length = content_length_header(self.status_code, len(body))
            if length is not None:
                raw_headers.append(length)

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
        if isinstance(expires, datetime):
            expires = format_datetime(expires, usegmt=True)
        elif type(expires) is int:
            # Seconds from now, dated with Python's clock (as http.cookies does), so code
            # that freezes time.time() in tests sees the same header.
            expires = http.cookies._getdate(expires)  # type: ignore[attr-defined]
        args = (key, value, max_age, expires, path, domain, secure, httponly, samesite, partitioned)
        # Rendered in Rust with http.cookies' exact rules (quoting, attribute order) and
        # Starlette's errors; None means an argument only http.cookies renders (a float
        # max_age, say), and the reference renders it. One deliberate difference: CR, LF or
        # NUL in an attribute is a ValueError here, where Starlette would send the header.
        text = render_set_cookie(*args)
        if text is None:
            text = _simple_cookie(*args)
        self.raw_headers.append((b"set-cookie", text.encode("latin-1")))

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


def _simple_cookie(
    key: str,
    value: str,
    max_age: Any,
    expires: Any,
    path: str | None,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
) -> str:
    """A Set-Cookie value through http.cookies (the reference the native renderer matches)."""
    cookie: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
    cookie[key] = value
    morsel = cookie[key]
    if max_age is not None:
        morsel["max-age"] = max_age
    if expires is not None:
        morsel["expires"] = expires
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
    return cookie.output(header="").strip()


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


_JSON_CONTENT_TYPE = (b"content-type", b"application/json")


_STDLIB_JSON_DUMPS = json.dumps


class JSONResponse(Response):
    """An `application/json` response, byte-identical to Starlette's rendering."""

    media_type = "application/json"

    # Each response class spells out its own __init__ parameters (here as in Response,
    # StreamingResponse and the rest): they are Starlette's public signatures, class by class.
    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        # Replaced below by the native __init__; kept as the source of its signature.
        super().__init__(content, status_code, headers, media_type, background)  # pragma: no cover

    def render(self, content: Any) -> bytes:
        """Serialize `content` compactly, non-ASCII kept, NaN and infinities refused.

        The bytes (and the exceptions) are those of Starlette's `json.dumps(content,
        ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()`, in Rust.
        If `json.dumps` has been replaced (a mock or a patch), the replacement is called
        with those arguments, as Starlette calls it.
        """
        dumps = json.dumps
        if dumps is not _STDLIB_JSON_DUMPS:
            return dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode(
                "utf-8"
            )
        return json_dumps(content)


# `JSONResponse(content)` with nothing else is on nearly every request: its __init__ is
# native (same attributes, same bytes, same exceptions; anything else goes to
# Response.__init__). In Python, the frame and `b"%d" % len(body)` cost more than the
# JSON encoding (see docs/performance.md, "JSON response").
_python_json_init = JSONResponse.__init__
JSONResponse.__init__ = json_response_init(  # type: ignore[method-assign]
    JSONResponse, Response.__init__, _JSON_CONTENT_TYPE, JSONResponse.render, json
)


class _InitSignature:
    """`JSONResponse.__signature__`: what `inspect.signature` reports for the class.

    The native `__init__` is a method descriptor. Python 3.13's `inspect` binds it to the
    class itself (`__get__(cls, type(cls))`), which a method descriptor refuses, so
    `inspect.signature(JSONResponse)` raised TypeError there (3.11 and 3.12 read the
    descriptor's text signature). This gives Starlette's signature, annotations included, on
    every version, and `None` ("look further", inspect's own rule) for instances and for
    subclasses that bring their own `__init__`, `__new__` or metaclass `__call__`.
    """

    def __init__(self, native: Any, python_init: Any) -> None:
        self._native = native
        self._python_init = python_init
        self._signature: Any = None

    def __get__(self, instance: object, owner: type) -> Any:
        if instance is not None or type(owner).__call__ is not type.__call__ or owner.__new__ is not object.__new__:
            return None
        init = next(vars(klass)["__init__"] for klass in owner.__mro__ if "__init__" in vars(klass))
        if init is not self._native:
            return None
        if self._signature is None:
            import inspect

            full = inspect.signature(self._python_init)
            self._signature = full.replace(parameters=list(full.parameters.values())[1:])
        return self._signature


JSONResponse.__signature__ = _InitSignature(vars(JSONResponse)["__init__"], _python_json_init)  # type: ignore[attr-defined]


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
        location = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")
        if headers is None and type(self) is RedirectResponse:
            # What `self.headers["location"] = location` does when no location header exists
            # (quote() leaves only ASCII, CR/LF escaped), without building MutableHeaders.
            self.raw_headers.append((b"location", location.encode("latin-1")))
        else:
            self.headers["location"] = location


Content = str | bytes | memoryview
SyncContentStream = Iterable[Content]
AsyncContentStream = AsyncIterable[Content]
ContentStream = AsyncContentStream | SyncContentStream


def _asgi_spec_version(scope: Scope) -> tuple[int, ...]:
    return tuple(int(part) for part in scope.get("asgi", {}).get("spec_version", "2.0").split("."))


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _run_until_disconnect(
    send_body: Callable[[], Coroutine[Any, Any, None]],
    receive: Receive,
    wait_for_disconnect: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run `send_body` while waiting for the client to go away; whichever ends first stops the
    other. The wait reads `receive` until `http.disconnect`, or is `wait_for_disconnect` (an
    override's). With the plain wait on a plain asyncio task, no task group is built
    (`_send_until_disconnect`); otherwise Starlette's task group runs both."""
    if wait_for_disconnect is None:
        host = _plain_asyncio_task()
        if host is not None:
            await _send_until_disconnect(host, send_body(), receive)
            return
        wait_for_disconnect = functools.partial(_wait_for_disconnect, receive)
    async with create_collapsing_task_group() as task_group:

        async def then_stop(func: Callable[[], Awaitable[None]]) -> None:
            await func()
            task_group.cancel_scope.cancel()

        task_group.start_soon(then_stop, send_body)
        await then_stop(wait_for_disconnect)


def _plain_asyncio_task() -> asyncio.Task[Any] | None:
    """The running asyncio task when `_send_until_disconnect` may serve it, else None.

    None under trio (no running asyncio loop), outside a task, and when the loop has a task
    factory (an eager one would start the child at creation; anyio starts it lazily).
    """
    loop = asyncio._get_running_loop()
    if loop is None or loop.get_task_factory() is not None:
        return None
    return asyncio.current_task(loop)


async def _send_until_disconnect(host: asyncio.Task[Any], body: Coroutine[Any, Any, None], receive: Receive) -> None:
    """`_run_until_disconnect(body, wait for http.disconnect)` without a task group, on asyncio.

    The same observable behaviour as Starlette's task group: `body` runs in a child task (a copy
    of the context, as anyio's `start_soon` makes) while this task reads `receive` until
    `http.disconnect`; whichever ends first cancels the other through an anyio cancel scope
    (level cancellation, shields respected, as in the task group), and this task returns only
    once the child has finished. A failure comes out as the task group's does: alone, re-raised
    as itself, or in a `BaseExceptionGroup` when the listener and the body both failed. An
    outer cancellation (a cancel scope around the app, or the server cancelling the task)
    cancels the body, waits for it and propagates; one difference from the task group, whose
    child sits inside that outer scope: an anyio cancellation reaches the body through this
    task, one event-loop step later, so the body may take one more step before it stops.
    """
    body_scope = anyio.CancelScope()
    listen_scope = anyio.CancelScope()
    child = host.get_loop().create_task(_run_in_scope(body, body_scope, listen_scope))
    try:
        with listen_scope:
            while (await receive())["type"] != "http.disconnect":
                pass
    except BaseException as exc:
        # The listener failed, or a cancellation from outside: stop the body, wait for it.
        body_scope.cancel()
        await _join(child)
        errors = [] if isinstance(exc, asyncio.CancelledError) else [exc]
        child_error = _task_error(child)
        if child_error is not None:
            errors.append(child_error)
        if errors:
            _raise_collapsed(errors)
        raise
    if not listen_scope.cancelled_caught:
        # The client went away first: stop the body.
        body_scope.cancel()
    absorbed = await _join(child)
    child_error = _task_error(child)
    if child_error is not None:
        _raise_collapsed([child_error])
    if absorbed is not None:
        raise absorbed


async def _run_in_scope(body: Coroutine[Any, Any, None], scope: anyio.CancelScope, then: anyio.CancelScope) -> None:
    """Await `body` inside `scope`, then cancel `then` (the listener) however it ended."""
    try:
        with scope:
            await body
    finally:
        then.cancel()


async def _join(task: asyncio.Task[Any]) -> BaseException | None:
    """Wait until `task` is done, whatever cancels this task meanwhile (as a task group's exit
    waits for its children); return the first cancellation absorbed, for the caller to raise."""
    absorbed: BaseException | None = None
    if task.done():
        return None
    with anyio.CancelScope(shield=True):
        while not task.done():
            try:
                await asyncio.wait((task,))
            except asyncio.CancelledError as exc:
                absorbed = absorbed or exc
    return absorbed


def _task_error(task: asyncio.Task[Any]) -> BaseException | None:
    """The exception `task` ended with, cancellation excepted (a task group ignores those)."""
    if task.cancelled():
        return None
    return task.exception()


def _raise_collapsed(errors: list[BaseException]) -> NoReturn:
    """Raise `errors` as `create_collapsing_task_group` does: a lone one as itself."""
    group = BaseExceptionGroup("unhandled errors in a TaskGroup", errors)
    if len(errors) != 1:
        raise group
    only = errors[0]
    try:
        raise group
    except BaseExceptionGroup:
        raise only from only.__cause__ or (None if only.__suppress_context__ else only.__context__)


class StreamingResponse(Response):
    """A response whose body comes from an iterator, sent chunk by chunk.

    Sync iterators are advanced in a worker thread so they cannot block the event loop.
    """

    body_iterator: AsyncContentStream

    # Starlette's signature for this class (see JSONResponse.__init__); the body is an iterator.
    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        if isinstance(content, AsyncIterable):
            self.body_iterator = content
        else:
            self.body_iterator = iterate_in_threadpool(content)
        self.status_code = status_code
        self.media_type = self.media_type if media_type is None else media_type
        self.background = background
        self.init_headers(headers)

    async def listen_for_disconnect(self, receive: Receive) -> None:
        """Return once the client has gone away."""
        await _wait_for_disconnect(receive)

    async def stream_response(self, send: Send) -> None:
        """Send the start message, every chunk of the iterator, then the closing empty body."""
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        charset = self.charset
        async for chunk in self.body_iterator:
            if not isinstance(chunk, (bytes, memoryview)):
                chunk = chunk.encode(charset)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.stream_response(_websocket_denial_send(send))
        elif _asgi_spec_version(scope) >= (2, 4):
            # From ASGI 2.4 on, `send` raises OSError once the client is gone: no listener needed.
            try:
                await self.stream_response(send)
            except OSError:
                raise ClientDisconnect()  # noqa: B904 (chained implicitly, as Starlette does)
        else:
            cls = type(self)
            overridden = (
                cls.stream_response is not StreamingResponse.stream_response
                or cls.listen_for_disconnect is not StreamingResponse.listen_for_disconnect
            )
            # A subclass that overrides either method gets Starlette's task group, with its own
            # listen_for_disconnect.
            await _run_until_disconnect(
                functools.partial(self.stream_response, send),
                receive,
                functools.partial(self.listen_for_disconnect, receive) if overridden else None,
            )
        if self.background is not None:
            await self.background()


class MalformedRangeHeader(Exception):
    """A Range header that cannot be parsed; answered with 400 and `content` as the body."""

    def __init__(self, content: str = "Malformed range header.") -> None:
        self.content = content


class RangeNotSatisfiable(Exception):
    """A Range header starting past the end of a file of `max_size` bytes; answered with 416."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size


# How much of a file one worker-thread hop reads (as chunk_size pieces).
_READ_BLOCK = 1024 * 1024


class FileResponse(Response):
    """A file sent from disk in chunks, with HEAD, conditional and Range request support."""

    chunk_size = 64 * 1024
    max_ranges = 100

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        self.path = path
        self.status_code = status_code
        self.filename = filename
        if media_type is None:
            media_type = guess_type(filename or path)[0] or "application/octet-stream"
        self.media_type = media_type
        self.background = background
        self.init_headers(headers)
        self.headers.setdefault("accept-ranges", "bytes")
        if filename is not None:
            quoted = quote(filename)
            if quoted == filename:
                disposition = f'{content_disposition_type}; filename="{filename}"'
            else:
                # RFC 5987 form for names that are not plain ASCII tokens.
                disposition = f"{content_disposition_type}; filename*=utf-8''{quoted}"
            self.headers.setdefault("content-disposition", disposition)
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """Add content-length, last-modified and etag (md5 of "mtime-size") unless already set."""
        size = stat_result.st_size
        mtime = stat_result.st_mtime
        digest = hashlib.md5(f"{mtime}-{size}".encode(), usedforsecurity=False).hexdigest()
        headers = self.headers
        headers.setdefault("content-length", str(size))
        headers.setdefault("last-modified", formatdate(mtime, usegmt=True))
        headers.setdefault("etag", f'"{digest}"')

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        is_http = scope_type == "http"
        method = scope["method"].upper() if is_http else None
        header_only = method == "HEAD"
        use_pathsend = is_http and "http.response.pathsend" in scope.get("extensions", {})
        if scope_type == "websocket":
            send = _websocket_denial_send(send)

        stat_result = self.stat_result
        if stat_result is None:
            try:
                stat_result = await anyio.to_thread.run_sync(os.stat, self.path)
            except FileNotFoundError:
                raise RuntimeError(f"File at path {self.path} does not exist.")  # noqa: B904
            self.set_stat_headers(stat_result)
            if not stat.S_ISREG(stat_result.st_mode):
                raise RuntimeError(f"File at path {self.path} is not a file.")

        request_headers = Headers(scope=scope)
        range_header = request_headers.get("range")
        if_range = request_headers.get("if-range")
        size = stat_result.st_size

        send_file: Callable[[], Awaitable[None]]
        if (
            self.status_code != 200
            or range_header is None
            or (method is not None and method not in ("GET", "HEAD"))
            or (if_range is not None and not self._should_use_range(if_range))
        ):
            send_file = functools.partial(self._handle_simple, send, header_only, use_pathsend)
        else:
            try:
                ranges = self._parse_range_header(range_header, size)
            except MalformedRangeHeader as exc:
                await PlainTextResponse(exc.content, status_code=400)(scope, receive, send)
                return
            except RangeNotSatisfiable as exc:
                refusal = PlainTextResponse(status_code=416, headers={"Content-Range": f"bytes */{exc.max_size}"})
                await refusal(scope, receive, send)
                return
            if not ranges:
                send_file = functools.partial(self._handle_simple, send, header_only, use_pathsend)
            elif len(ranges) == 1:
                start, end = ranges[0]
                send_file = functools.partial(self._handle_single_range, send, start, end, size, header_only)
                use_pathsend = False
            else:
                send_file = functools.partial(self._handle_multiple_ranges, send, ranges, size, header_only)
                use_pathsend = False

        if not is_http or header_only or use_pathsend or _asgi_spec_version(scope) >= (2, 4):
            await send_file()
        else:
            await _run_until_disconnect(send_file, receive)

        if self.background is not None:
            await self.background()

    @contextlib.asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        file = await anyio.open_file(self.path, mode="rb")
        try:
            yield file
        finally:
            # Shielded: a cancelled transfer (client gone) must still release the descriptor.
            with anyio.CancelScope(shield=True):
                await file.aclose()

    async def _handle_simple(self, send: Send, send_header_only: bool, send_pathsend: bool) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if send_header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if send_pathsend:
            await send({"type": "http.response.pathsend", "path": str(self.path)})
            return
        await self._send_chunks(send, 0, None)

    async def _handle_single_range(
        self, send: Send, start: int, end: int, file_size: int, send_header_only: bool
    ) -> None:
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-range"] = f"bytes {start}-{end - 1}/{file_size}"
        headers["content-length"] = str(end - start)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        if send_header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await self._send_chunks(send, start, end)

    async def _send_chunks(self, send: Send, start: int, end: int | None) -> None:
        """Send the file from `start` to `end` (None: to its end) in `chunk_size` messages.

        The messages are Starlette's exactly (each a `read(chunk_size)`, or `read(min(chunk_size,
        end - start))` for a range; more_body while a read came back full and, for a range, bytes
        remain), but the reads run in the worker thread about 1 MiB at a time, closing the file
        with the last block: one thread hop per block instead of one per chunk plus one for
        closing. The file is opened with `anyio.open_file`, as Starlette opens it.
        """
        chunk_size = self.chunk_size
        blocks = max(1, _READ_BLOCK // max(chunk_size, 1))
        file = await anyio.open_file(self.path, mode="rb")
        raw = file.wrapped
        position = start

        def read_block() -> list[tuple[bytes, bool]]:
            nonlocal position
            chunks: list[tuple[bytes, bool]] = []
            for _ in range(blocks):
                if end is None:
                    chunk = raw.read(chunk_size)
                    more_body = len(chunk) == chunk_size
                else:
                    chunk = raw.read(min(chunk_size, end - position))
                    position += len(chunk)
                    # A short read (file truncated meanwhile) ends the body rather than looping.
                    more_body = len(chunk) == chunk_size and position < end
                chunks.append((chunk, more_body))
                if not more_body:
                    raw.close()
                    break
            return chunks

        try:
            if start:
                await file.seek(start)
            more_body = True
            while more_body:
                for chunk, more_body in await anyio.to_thread.run_sync(read_block):
                    await send({"type": "http.response.body", "body": chunk, "more_body": more_body})
        finally:
            if not raw.closed:
                # Shielded: a cancelled transfer (client gone) must still release the descriptor.
                with anyio.CancelScope(shield=True):
                    await file.aclose()

    async def _handle_multiple_ranges(
        self, send: Send, ranges: list[tuple[int, int]], file_size: int, send_header_only: bool
    ) -> None:
        # 13 random bytes: about the entropy browsers put in their own multipart boundaries.
        boundary = token_hex(13)
        content_length, part_header = self.generate_multipart(ranges, boundary, file_size, self.headers["content-type"])
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-type"] = f"multipart/byteranges; boundary={boundary}"
        headers["content-length"] = str(content_length)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        if send_header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        chunk_size = self.chunk_size
        path = self.path
        # Where the reads stand: the range being read and the position in it (None: its part
        # header is still to send).
        index = 0
        position: int | None = None

        async with self._open_file() as file:
            raw = file.wrapped

            def read_block() -> tuple[list[bytes], Exception | None]:
                # Starlette's messages for the next ~1 MiB of the ranges, read in this worker
                # thread; an error comes back after the messages read before it.
                nonlocal index, position
                out: list[bytes] = []
                budget = _READ_BLOCK
                try:
                    while budget > 0 and index < len(ranges):
                        start, end = ranges[index]
                        if position is None:
                            out.append(part_header(start, end))
                            raw.seek(start)
                            position = start
                        while position < end and budget > 0:
                            chunk = raw.read(min(chunk_size, end - position))
                            if not chunk:
                                raise RuntimeError(f"File at path {path} is shorter than expected.")
                            position += len(chunk)
                            budget -= len(chunk)
                            out.append(chunk)
                        if position >= end:
                            out.append(b"\r\n")
                            index += 1
                            position = None
                except Exception as exc:
                    return out, exc
                return out, None

            while index < len(ranges):
                bodies, error = await anyio.to_thread.run_sync(read_block)
                for body in bodies:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                if error is not None:
                    raise error
            closing = f"--{boundary}--".encode("latin-1")
            await send({"type": "http.response.body", "body": closing, "more_body": False})

    def _should_use_range(self, http_if_range: str) -> bool:
        # If-Range needs a strong validator: a weak etag never matches.
        if http_if_range.startswith("W/"):
            return False
        return http_if_range == self.headers["last-modified"] or http_if_range == self.headers["etag"]

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        """Half-open (start, end) byte ranges, sorted and merged when there are several.

        An empty list means "ignore the header and send the whole file" (too many ranges).
        Parsed in Rust (`tachyon_core::range`) unless a subclass overrides `_parse_ranges` or
        the header holds what Python's `strip()` / `int()` read beyond ASCII digits (other
        scripts' digits, `_`, signs, Unicode spaces, huge numbers): then in Python, as
        Starlette does.
        """
        if cls._parse_ranges.__func__ is FileResponse._parse_ranges.__func__:  # type: ignore[attr-defined]
            parsed = _native_parse_range_header(http_range, file_size, cls.max_ranges)
            if type(parsed) is list:
                return parsed
            if type(parsed) is str:
                raise MalformedRangeHeader(parsed)
            if type(parsed) is int:
                raise RangeNotSatisfiable(file_size)
        return cls._parse_range_header_python(http_range, file_size)

    @classmethod
    def _parse_range_header_python(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        """`_parse_range_header` in Python: Starlette's rules with Python's `int()`."""
        units, sep, spec = http_range.partition("=")
        if not sep:
            raise MalformedRangeHeader()
        if units.strip().lower() != "bytes":
            raise MalformedRangeHeader("Only support bytes range")
        # Counting separators first bounds the work a hostile header can cause.
        if spec.count(",") >= cls.max_ranges:
            return []

        ranges = cls._parse_ranges(spec, file_size)
        if not ranges:
            raise MalformedRangeHeader("Range header: range must be requested")
        for start, _ in ranges:
            if not 0 <= start < file_size:
                raise RangeNotSatisfiable(file_size)
        for start, end in ranges:
            if start >= end:
                raise MalformedRangeHeader("Range header: start must be less than end")
        if len(ranges) == 1:
            return ranges

        ranges.sort()
        merged = [ranges[0]]
        for start, end in ranges[1:]:
            last_start, last_end = merged[-1]
            if start <= last_end:
                merged[-1] = (last_start, max(last_end, end))
            else:
                merged.append((start, end))
        return merged

    @classmethod
    def _parse_ranges(cls, range_: str, file_size: int) -> list[tuple[int, int]]:
        """Each well-formed `start-end`, `start-` or `-suffix` item; anything else is skipped."""
        ranges: list[tuple[int, int]] = []
        for item in range_.split(","):
            first, dash, last = item.strip().partition("-")
            if not dash:
                continue
            first = first.strip()
            last = last.strip()
            try:
                if first:
                    start = int(first)
                    end = int(last) + 1 if last and int(last) < file_size else file_size
                else:
                    # A suffix range: the last N bytes (all of them when N exceeds the size).
                    start = max(file_size - int(last), 0)
                    end = file_size
            except ValueError:
                continue
            ranges.append((start, end))
        return ranges

    def generate_multipart(
        self,
        ranges: Sequence[tuple[int, int]],
        boundary: str,
        max_size: int,
        content_type: str,
    ) -> tuple[int, Callable[[int, int], bytes]]:
        """The multipart/byteranges body length, and a function making each part's header.

        Each part is `--boundary`, Content-Type and Content-Range lines, a blank line,
        the bytes and CRLF; the body ends with `--boundary--`.
        """

        def part_header(start: int, end: int) -> bytes:
            return (
                f"--{boundary}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Range: bytes {start}-{end - 1}/{max_size}\r\n"
                "\r\n"
            ).encode("latin-1")

        length = sum(len(part_header(start, end)) + (end - start) + 2 for start, end in ranges)
        return length + len(boundary) + 4, part_header
