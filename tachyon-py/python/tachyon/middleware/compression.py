"""`CompressionMiddleware`: zstd, brotli or gzip, whichever the client rates highest.

Beyond Starlette (which only has `GZipMiddleware`). The coding is negotiated from
`Accept-Encoding` with q-values (RFC 9110 §12.5.3); the bypass rules, `Vary`,
`Content-Length` and streaming behave exactly as `GZipMiddleware`'s. Compression runs in
Rust (zstd, brotli, and gzip through libdeflate or flate2 on zlib-rs), with the GIL
released on large chunks.
"""

from __future__ import annotations

from tachyon._tachyon import negotiate_encoding
from tachyon.datastructures import Headers
from tachyon.middleware.gzip import (
    DEFAULT_EXCLUDED_CONTENT_TYPES,
    CompressionLevelError,
    GZipResponder,
    IdentityResponder,
    _check_level,
)
from tachyon.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "DEFAULT_ENCODINGS",
    "DEFAULT_EXCLUDED_CONTENT_TYPES",
    "CompressionLevelError",
    "CompressionMiddleware",
    "CompressionResponder",
]

#: The server's preference when the client rates several codings equally (a browser sends
#: `gzip, deflate, br, zstd`, all at q=1): zstd compresses fastest at a ratio close to
#: brotli's, brotli is next, gzip is what every client decodes.
DEFAULT_ENCODINGS: tuple[str, ...] = ("zstd", "br", "gzip")


class CompressionMiddleware:
    """Compress bodies of at least `minimum_size` bytes with the best coding the client accepts.

    - `encodings`: the codings offered, most preferred first; any of "zstd", "br", "gzip".
      The client's q-values decide first, this order breaks ties. A client that sends no
      Accept-Encoding, or refuses all of them (`q=0`), gets the body as is.
    - `zstd_level` (1-19, default 3), `brotli_quality` (0-11, default 4) and `gzip_level`
      (-1-9, default 6): levels for dynamic content, where speed matters as much as size.
      A level out of range raises `CompressionLevelError` here, not on the first response.
    - `thread_minimum_size`: chunks at least this large compress in a worker thread, with
      the GIL released, so the event loop keeps running.
    - `exclude_content_types`: media types sent as is (already compressed, or event streams
      that must not be buffered); `type/*` matches a whole type.

    Responses that already have a Content-Encoding, partial (206) responses and
    `http.response.pathsend` files are never compressed. When a body is large enough to be
    compressed for some client, `Vary: Accept-Encoding` is added, whatever this one accepts.
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        *,
        encodings: tuple[str, ...] = DEFAULT_ENCODINGS,
        zstd_level: int = 3,
        brotli_quality: int = 4,
        gzip_level: int = 6,
        thread_minimum_size: int = 128 * 1024,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        levels = {
            "zstd": _check_level("zstd", zstd_level),
            "br": _check_level("br", brotli_quality),
            "gzip": _check_level("gzip", gzip_level),
        }
        self.encodings = tuple(encodings)
        for encoding in self.encodings:
            if encoding not in levels:
                raise ValueError(f"unknown content coding {encoding!r}: expected 'zstd', 'br' or 'gzip'")
        self.levels = levels
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = exclude_content_types
        self._encoding_list = list(self.encodings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        accept = Headers(scope=scope).get("Accept-Encoding", "")
        encoding = negotiate_encoding(accept, self._encoding_list) if accept else None
        responder: ASGIApp
        if encoding is None:
            responder = IdentityResponder(self.app, self.minimum_size, exclude_content_types=self.exclude_content_types)
        else:
            responder = CompressionResponder(
                self.app,
                self.minimum_size,
                encoding,
                self.levels[encoding],
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
        await responder(scope, receive, send)


class CompressionResponder(GZipResponder):
    """`GZipResponder` for any coding: "zstd", "br" or "gzip", at `level`."""

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        encoding: str,
        level: int,
        *,
        thread_minimum_size: int = 128 * 1024,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        super().__init__(
            app,
            minimum_size,
            level,
            thread_minimum_size=thread_minimum_size,
            exclude_content_types=exclude_content_types,
        )
        self.content_encoding = encoding
