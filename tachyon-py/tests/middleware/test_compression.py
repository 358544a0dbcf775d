"""Compression in Rust: round trips at every level and size, GZipMiddleware against
Starlette's (status, headers and decoded bodies), and CompressionMiddleware's negotiation."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from functools import cache
from typing import Any

import brotli
import pytest
import zstandard
from _asgi import Messages, asgi, decoded, stacks

from tachyon._tachyon import Compressor, check_compression_level, compress, negotiate_encoding
from tachyon.middleware.compression import CompressionLevelError, CompressionMiddleware

STARLETTE_GZIP, TACHYON_GZIP = stacks("middleware.gzip")

KIB = 1024
MIB = 1024 * KIB


@cache
def payload(size: int) -> bytes:
    """`size` bytes of JSON-like text with some random runs: compressible, but not trivially."""
    rng = random.Random(size)
    block = json.dumps(
        [{"id": i, "name": f"user{rng.randrange(10**6)}", "score": rng.random(), "ok": i % 3 == 0} for i in range(2000)]
    ).encode()
    parts = []
    total = 0
    while total < size:
        part = block[rng.randrange(len(block) // 2) :] + rng.randbytes(rng.randrange(64))
        parts.append(part)
        total += len(part)
    return b"".join(parts)[:size]


def decode(encoding: str, data: bytes) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        return brotli.decompress(data)
    assert encoding == "zstd"
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def body_app(chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None, status: int = 200) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        start_headers = list(headers or [(b"content-type", b"application/json")])
        if len(chunks) == 1:
            start_headers.append((b"content-length", str(len(chunks[0])).encode()))
        await send({"type": "http.response.start", "status": status, "headers": start_headers})
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})

    return app


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def start_of(messages: Messages) -> dict[str, Any]:
    return next(m for m in messages if m["type"] == "http.response.start")


def header(messages: Messages, name: bytes) -> list[bytes]:
    return [value for key, value in start_of(messages)["headers"] if key == name]


def body_of(messages: Messages) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


# Native functions


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
@pytest.mark.parametrize("size", [0, 1, 600, 32 * KIB, MIB])
def test_one_shot_round_trips(encoding: str, size: int) -> None:
    data = payload(size)
    levels = {"gzip": range(-1, 10), "br": (0, 1, 4, 6, 9), "zstd": (1, 3, 9)}[encoding]
    for level in levels:
        assert decode(encoding, compress(data, encoding, level)) == data, level


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_compressor_streams(encoding: str) -> None:
    data = payload(600 * KIB)
    compressor = Compressor(encoding, 3)
    assert compressor.encoding == encoding
    out = b"".join(compressor.compress(chunk) for chunk in split(data, 200 * KIB))
    out += compressor.compress(b"", finish=True)
    assert compressor.finished
    assert decode(encoding, out) == data
    with pytest.raises(RuntimeError, match="compression stream already finished"):
        compressor.compress(b"more")


def test_inputs_accept_buffers_and_refuse_text() -> None:
    data = payload(100 * KIB)
    assert gzip.decompress(compress(bytearray(data), "gzip", 6)) == data
    assert gzip.decompress(compress(memoryview(data), "gzip", 6)) == data
    with pytest.raises(TypeError, match="a bytes-like object is required, not 'str'"):
        compress("text", "gzip", 6)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a bytes-like object is required, not 'str'"):
        Compressor("gzip", 6).compress("text")  # type: ignore[arg-type]


def test_bad_levels_and_codings() -> None:
    with pytest.raises(ValueError, match=r"^invalid gzip compression level 10: expected an integer from -1 to 9$"):
        compress(b"x", "gzip", 10)
    with pytest.raises(ValueError, match="invalid br compression level 12: expected an integer from 0 to 11"):
        Compressor("br", 12)
    with pytest.raises(ValueError, match="invalid zstd compression level 0: expected an integer from 1 to 19"):
        check_compression_level("zstd", 0)
    with pytest.raises(ValueError, match="invalid gzip compression level 99999999999"):
        check_compression_level("gzip", 99999999999)
    with pytest.raises(ValueError, match='unknown content coding "deflate"'):
        compress(b"x", "deflate", 6)


# GZipMiddleware against Starlette's: every level, several sizes, one message and streamed


def both(app: Any, accept: bytes | None = b"gzip", **options: Any) -> tuple[Messages, Messages]:
    headers = [] if accept is None else [(b"accept-encoding", accept)]
    ours = asgi(TACHYON_GZIP.GZipMiddleware(app, **options), headers=headers)
    theirs = asgi(STARLETTE_GZIP.GZipMiddleware(app, **options), headers=headers)
    return ours, theirs


@pytest.mark.parametrize("level", range(1, 10))
@pytest.mark.parametrize("size", [600, 32 * KIB, MIB])
def test_gzip_levels_and_sizes_match_starlette(level: int, size: int) -> None:
    data = payload(size)
    ours, theirs = both(body_app([data]), compresslevel=level)
    assert decoded(ours) == decoded(theirs)
    assert gzip.decompress(body_of(ours)) == data
    assert header(ours, b"content-encoding") == [b"gzip"]
    assert header(ours, b"vary") == [b"Accept-Encoding"]
    assert header(ours, b"content-length") == [str(len(body_of(ours))).encode()]


@pytest.mark.parametrize("level", [1, 6, 9])
def test_gzip_ten_mib_matches_starlette(level: int) -> None:
    data = payload(10 * MIB)
    ours, theirs = both(body_app([data]), compresslevel=level)
    assert decoded(ours) == decoded(theirs)
    assert gzip.decompress(body_of(ours)) == data


@pytest.mark.parametrize(
    ("size", "chunk"),
    [(100 * KIB, 1000), (MIB, 64 * KIB), (3 * MIB, 256 * KIB), (10 * MIB, MIB)],
)
@pytest.mark.parametrize("level", [1, 6, 9])
def test_gzip_streaming_matches_starlette(size: int, chunk: int, level: int) -> None:
    data = payload(size)
    ours, theirs = both(body_app(split(data, chunk)), compresslevel=level)
    assert decoded(ours) == decoded(theirs)
    assert gzip.decompress(body_of(ours)) == data
    assert header(ours, b"content-length") == []
    assert header(ours, b"content-encoding") == [b"gzip"]


@cache
def prose(size: int) -> bytes:
    """`size` bytes of English-like words chosen at random (the benchmark's "text" kind)."""
    rng = random.Random(size)
    words = "the of and to in is that it was for on are as with they at be this from have or by one".split()
    return " ".join(rng.choice(words) for _ in range(size // 3)).encode()[:size]


@pytest.mark.parametrize("size", [32 * KIB, MIB])
@pytest.mark.parametrize("corpus", [payload, prose])
def test_gzip_levels_one_to_four_are_no_larger_than_zlibs(corpus: Any, size: int) -> None:
    # docs/api.md: `compresslevel=N` is libdeflate's level N, smaller than zlib's at 1-4 on
    # JSON and prose (at 5-6 it can be a few percent larger on prose: see tachyon_core::compress).
    data = corpus(size)
    for level in range(1, 5):
        ours = compress(data, "gzip", level)
        starlettes = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        theirs = starlettes.compress(data) + starlettes.flush()
        assert gzip.decompress(ours) == data
        assert len(ours) <= len(theirs), (level, len(ours), len(theirs))


@pytest.mark.parametrize("accept", [None, b"identity", b"br", b"gzip;q=0"])
def test_gzip_accept_variants_match_starlette(accept: bytes | None) -> None:
    # Starlette looks for the substring "gzip", so even "gzip;q=0" compresses: kept as is.
    ours, theirs = both(body_app([payload(5000)]), accept)
    assert decoded(ours) == decoded(theirs)


@pytest.mark.parametrize("level", [-1, 0, True])
def test_gzip_odd_but_valid_levels(level: Any) -> None:
    data = payload(5000)
    ours, theirs = both(body_app([data]), compresslevel=level)
    assert decoded(ours) == decoded(theirs)


def test_gzip_bad_level_is_a_precise_error() -> None:
    with pytest.raises(CompressionLevelError, match="invalid gzip compression level 10") as info:
        TACHYON_GZIP.GZipMiddleware(body_app([b""]), compresslevel=10)
    # Starlette's zlib raises zlib.error for it; code catching that (or ValueError) still works.
    assert isinstance(info.value, zlib.error)
    assert isinstance(info.value, ValueError)
    with pytest.raises(TypeError):
        TACHYON_GZIP.GZipMiddleware(body_app([b""]), compresslevel=1.5)


# CompressionMiddleware


def negotiated(accept: bytes | None, **options: Any) -> Messages:
    data = payload(5000)
    headers = [] if accept is None else [(b"accept-encoding", accept)]
    return asgi(CompressionMiddleware(body_app([data]), **options), headers=headers)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (b"gzip, deflate, br, zstd", "zstd"),  # Chrome, Firefox, Edge
        (b"gzip, deflate, br", "br"),  # Safari, older browsers
        (b"gzip", "gzip"),  # curl --compressed (without brotli/zstd support)
        (b"deflate, gzip", "gzip"),
        (None, None),  # plain curl
        (b"", None),
        (b"identity", None),
        (b"br;q=0", None),
        (b"br;q=0, gzip", "gzip"),
        (b"gzip;q=0.5, br;q=0.8, zstd;q=0.1", "br"),
        (b"*", "zstd"),
        (b"*;q=0.1, gzip;q=0.2", "gzip"),
        (b"zstd;q=0, *", "br"),
        (b"GZip;Q=1", "gzip"),
        (b"x-gzip", "gzip"),
    ],
)
def test_negotiation(accept: bytes | None, expected: str | None) -> None:
    messages = negotiated(accept)
    assert header(messages, b"content-encoding") == ([] if expected is None else [expected.encode()])
    assert header(messages, b"vary") == [b"Accept-Encoding"]
    body = body_of(messages)
    assert (body if expected is None else decode(expected, body)) == payload(5000)


def test_negotiation_follows_the_servers_order() -> None:
    assert header(negotiated(b"gzip, br, zstd", encodings=("br", "gzip")), b"content-encoding") == [b"br"]
    assert header(negotiated(b"zstd", encodings=("gzip",)), b"content-encoding") == []
    assert negotiate_encoding("gzip, br", ["gzip", "br"]) == "gzip"
    assert negotiate_encoding("br;q=0", ["br", "gzip"]) is None


# Every GZipMiddleware case, through CompressionMiddleware with each coding, must read the
# same as Starlette's GZipMiddleware: same bypass rules, Vary, Content-Length and streaming.
BIG = b"x" * 4000
CASES: dict[str, tuple[list[tuple[bytes, bytes]], list[bytes], int]] = {
    "big": ([(b"content-type", b"text/plain")], [BIG], 200),
    "small": ([(b"content-type", b"text/plain")], [b"hi"], 200),
    "streaming": ([(b"content-type", b"text/plain")], [b"a" * 10, b"b" * 1000, b"", b"c" * 3], 200),
    "already_encoded": ([(b"content-encoding", b"br")], [BIG], 200),
    "event_stream": ([(b"content-type", b"text/event-stream")], [b"data: 1\n\n" * 100, b"data: 2\n\n"], 200),
    "image": ([(b"content-type", b"image/png")], [BIG], 200),
    "partial": ([(b"content-type", b"text/plain")], [BIG], 206),
    "vary": ([(b"vary", b"Origin")], [BIG], 200),
    "empty": ([], [b""], 200),
}


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_compression_middleware_behaves_like_starlettes_gzip(case: str, encoding: str) -> None:
    headers, chunks, status = CASES[case]
    app = body_app(chunks, headers, status)
    request = [(b"accept-encoding", encoding.encode())]
    ours = asgi(CompressionMiddleware(app, gzip_level=9), headers=request)
    theirs = asgi(STARLETTE_GZIP.GZipMiddleware(app), headers=[(b"accept-encoding", b"gzip")])
    assert decoded(ours) == decoded(theirs)
    theirs_coding = header(theirs, b"content-encoding")
    assert header(ours, b"content-encoding") == ([encoding.encode()] if theirs_coding == [b"gzip"] else theirs_coding)


def test_compression_middleware_pathsend_and_identity() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.pathsend", "path": "/tmp/file"})

    messages = asgi(CompressionMiddleware(app), headers=[(b"accept-encoding", b"zstd")])
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.pathsend"]
    assert messages[0]["headers"] == [(b"content-type", b"text/plain")]


@pytest.mark.parametrize("encoding", ["br", "zstd"])
def test_compression_middleware_streams_large_chunks(encoding: str) -> None:
    data = payload(3 * MIB)
    app = body_app(split(data, 512 * KIB))
    messages = asgi(CompressionMiddleware(app), headers=[(b"accept-encoding", encoding.encode())])
    assert decode(encoding, body_of(messages)) == data
    assert header(messages, b"content-length") == []


def test_compression_middleware_bad_options() -> None:
    app = body_app([b""])
    with pytest.raises(CompressionLevelError, match="invalid br compression level 12"):
        CompressionMiddleware(app, brotli_quality=12)
    with pytest.raises(CompressionLevelError, match="invalid zstd compression level 20"):
        CompressionMiddleware(app, zstd_level=20)
    with pytest.raises(ValueError, match="unknown content coding 'deflate'"):
        CompressionMiddleware(app, encodings=("deflate", "gzip"))


def test_compression_middleware_passes_websockets() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    import anyio

    async def main() -> None:
        async def receive() -> Any:
            return {}

        async def send(message: Any) -> None:
            return None

        await CompressionMiddleware(app)({"type": "websocket", "headers": []}, receive, send)

    anyio.run(main)
    assert seen == ["websocket"]
