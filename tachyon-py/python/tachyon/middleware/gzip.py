"""`GZipMiddleware`: gzip responses for clients that accept it.

Small bodies, already-encoded bodies, partial (206) responses and media types that are
compressed already or must not be buffered (`text/event-stream`) go out untouched.

Compression runs in Rust (`tachyon._tachyon.compress`: libdeflate for a body sent in one
message at levels 1-8; `Compressor`: flate2 on zlib-rs for streams), with the GIL released
on large chunks. The bytes differ from Python's zlib (a different deflate implementation),
the gzip stream they decode to does not.
"""

from __future__ import annotations

import operator
import zlib
from typing import NoReturn

import anyio
import anyio.lowlevel
import anyio.to_thread

from tachyon._tachyon import Compressor, check_compression_level, compress
from tachyon.datastructures import Headers, MutableHeaders
from tachyon.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_EXCLUDED_CONTENT_TYPES",
    "CompressionLevelError",
    "GZipMiddleware",
    "GZipResponder",
    "IdentityResponder",
]

DEFAULT_EXCLUDED_CONTENT_TYPES = (
    "application/grpc",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "audio/*",
    "font/woff",
    "font/woff2",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/event-stream",
    "video/*",
)

# One limiter per event loop, apart from anyio's default thread limiter (same size, 40),
# so large compressions cannot starve other run_in_threadpool work.
_gzip_capacity_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("_gzip_capacity_limiter")


def _get_gzip_capacity_limiter() -> anyio.CapacityLimiter:
    try:
        return _gzip_capacity_limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(40)
        _gzip_capacity_limiter.set(limiter)
        return limiter


class CompressionLevelError(zlib.error, ValueError):
    """A compression level outside the range its encoding accepts.

    Raised when the middleware is built, so a bad level fails at startup. Starlette's
    GZipMiddleware raises `zlib.error` on the first compressed response instead; this is
    both a `zlib.error` and a `ValueError`, so code catching either keeps working.
    """


def _check_level(encoding: str, level: object) -> int:
    """`level` as an int in the range of `encoding` ("gzip", "br" or "zstd").

    Raises TypeError for a non-integer (as `zlib.compressobj` does) and
    `CompressionLevelError` for an integer out of range.
    """
    value = operator.index(level)  # type: ignore[arg-type]
    try:
        check_compression_level(encoding, value)
    except ValueError as exc:
        raise CompressionLevelError(str(exc)) from None
    return value


def _normalize_content_types(content_types: tuple[str, ...]) -> tuple[str, ...]:
    # Parameters are ignored and matching is case-insensitive: keep only the bare media type.
    return tuple(content_type.partition(";")[0].strip().lower() for content_type in content_types)


class GZipMiddleware:
    """Compress bodies of at least `minimum_size` bytes when Accept-Encoding mentions gzip.

    `compresslevel` is -1 (the default level, 6) to 9; 0 stores. Chunks of
    `thread_minimum_size` bytes or more are compressed in a worker thread, with the GIL
    released, so the event loop keeps running. Headers, bypass rules and streaming are
    Starlette's; `compresslevel` is checked here (see `CompressionLevelError`).
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = 128 * 1024,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = _check_level("gzip", compresslevel)
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = _normalize_content_types(exclude_content_types)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover
            await self.app(scope, receive, send)
            return

        responder: ASGIApp
        if "gzip" in Headers(scope=scope).get("Accept-Encoding", ""):
            responder = GZipResponder(
                self.app,
                self.minimum_size,
                compresslevel=self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
        else:
            responder = IdentityResponder(self.app, self.minimum_size, exclude_content_types=self.exclude_content_types)
        await responder(scope, receive, send)


class IdentityResponder:
    """Holds back the response start until the first body chunk shows how to encode it.

    This base class encodes nothing; it still adds `Vary: Accept-Encoding` where a
    compressing responder would have considered compressing.
    """

    content_encoding: str

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.exclude_content_types = _normalize_content_types(exclude_content_types)
        self.send: Send = unattached_send
        self.initial_message: Message = {}
        self.started = False
        self.content_encoding_set = False
        self.content_type_is_excluded = False
        self.partial_response = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.send = send
        await self.app(scope, receive, self.send_with_compression)

    @property
    def _passthrough(self) -> bool:
        return self.content_encoding_set or self.partial_response or self.content_type_is_excluded

    async def send_with_compression(self, message: Message) -> None:
        message_type = message["type"]

        if message_type == "http.response.start":
            # Held back: the headers may still change once the body is seen.
            self.initial_message = message
            message.setdefault("headers", [])
            headers = Headers(raw=message["headers"])
            self.content_encoding_set = "content-encoding" in headers
            self.partial_response = message["status"] == 206
            media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            candidates = {media_type, media_type.partition("/")[0] + "/*"}
            if media_type.startswith("application/grpc+"):
                candidates.add("application/grpc")
            self.content_type_is_excluded = not candidates.isdisjoint(self.exclude_content_types)
            if self._passthrough:
                await self.send(message)
            return

        if message_type in ("http.response.body", "http.response.pathsend") and self._passthrough:
            await self.send(message)
            return

        if message_type == "http.response.body" and not self.started:
            self.started = True
            body = message.get("body", b"")
            more_body = message.get("more_body", False)
            if not more_body and len(body) < self.minimum_size:
                # Too small to be worth compressing.
                await self.send(self.initial_message)
                await self.send(message)
                return

            compressed = await self.apply_compression(body, more_body=more_body)
            headers = MutableHeaders(raw=self.initial_message["headers"])
            headers.add_vary_header("Accept-Encoding")
            if compressed != message["body"]:
                headers["Content-Encoding"] = self.content_encoding
                if more_body or self.initial_message.get("trailers", False):
                    # The final length is unknown (streaming) or trailers follow.
                    del headers["Content-Length"]
                else:
                    headers["Content-Length"] = str(len(compressed))
                message["body"] = compressed
            await self.send(self.initial_message)
            await self.send(message)
            return

        if message_type == "http.response.body":
            # A later chunk of a streaming response.
            more_body = message.get("more_body", False)
            message["body"] = await self.apply_compression(message.get("body", b""), more_body=more_body)
            await self.send(message)
            return

        if message_type in ("http.response.early_hint", "http.response.trailers"):
            await self.send(message)
            return

        if message_type == "http.response.pathsend":  # pragma: no branch
            # A file sent by the server itself is never compressed.
            await self.send(self.initial_message)
            await self.send(message)

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        """Encode `body`; `more_body=False` finishes the stream. The identity is a no-op."""
        return body


class GZipResponder(IdentityResponder):
    """Compresses with one gzip stream per response, sync-flushed after each chunk.

    A body sent in one message is compressed in one native call; a streamed body goes
    through a `Compressor` created on its first chunk.
    """

    content_encoding = "gzip"

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        compresslevel: int = 9,
        *,
        thread_minimum_size: int = 128 * 1024,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        super().__init__(app, minimum_size, exclude_content_types=exclude_content_types)
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size
        self._compressor: Compressor | None = None

    @property
    def compressor(self) -> Compressor:
        """The compression stream, created on first use (small responses never need one)."""
        if self._compressor is None:
            self._compressor = Compressor(self.content_encoding, self.compresslevel)
        return self._compressor

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) >= self.thread_minimum_size:
            # In a worker thread (the native call releases the GIL), as Starlette does, so
            # the event loop keeps running; the same dedicated limiter as Starlette's.
            limiter = _get_gzip_capacity_limiter()
            return await anyio.to_thread.run_sync(self._compress_body, body, more_body, limiter=limiter)
        return self._compress_body(body, more_body)

    def _compress_body(self, body: bytes, more_body: bool) -> bytes:
        if self._compressor is None and not more_body:
            # The whole body in one message: one call, no stream object.
            return compress(body, self.content_encoding, self.compresslevel)
        # A sync flush lets the client decode each chunk as it arrives.
        return self.compressor.compress(body, not more_body)


async def unattached_send(message: Message) -> NoReturn:
    raise RuntimeError("send awaitable not set")  # pragma: no cover
