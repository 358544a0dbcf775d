"""GZipMiddleware on Starlette and on Tachyon: the same ASGI messages.

Byte for byte except the compressed bytes themselves (zlib-rs is not Python's zlib): those
are compared as what each chunk decodes to, with `decoded`."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from _asgi import Messages, asgi, decoded, stacks

STARLETTE_GZIP, TACHYON_GZIP = stacks("middleware.gzip")

BIG = b"x" * 4000
TEXT = "Hello world, " * 100


def raw_app(
    start_headers: list[tuple[bytes, bytes]], chunks: list[bytes], *, status: int = 200, trailers: bool = False
) -> Any:
    """An app sending `chunks` as body messages (the last with more_body False)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": list(start_headers)}
        if trailers:
            start["trailers"] = True
        await send(start)
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})

    return app


def length(body: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", str(len(body)).encode())


CASES: dict[str, tuple[list[tuple[bytes, bytes]], list[bytes], dict[str, Any]]] = {
    "big_text": ([length(BIG), (b"content-type", b"text/plain; charset=utf-8")], [BIG], {}),
    "small": ([length(b"hi"), (b"content-type", b"text/plain")], [b"hi"], {}),
    "exactly_minimum": ([length(b"a" * 500)], [b"a" * 500], {}),
    "just_under_minimum": ([length(b"a" * 499)], [b"a" * 499], {}),
    "streaming": ([(b"content-type", b"text/plain")], [b"a" * 10, b"b" * 1000, b"", b"c" * 3], {}),
    "streaming_small_first_chunk": ([length(b"ab"), (b"content-type", b"text/plain")], [b"a", b"b"], {}),
    "already_encoded": ([length(BIG), (b"content-encoding", b"br")], [BIG], {}),
    "event_stream": ([(b"content-type", b"text/event-stream")], [b"data: 1\n\n" * 100, b"data: 2\n\n"], {}),
    "image": ([length(BIG), (b"content-type", b"image/PNG; x=y")], [BIG], {}),
    "video_wildcard": ([length(BIG), (b"content-type", b"video/mp4")], [BIG], {}),
    "grpc_plus": ([length(BIG), (b"content-type", b"application/grpc+proto")], [BIG], {}),
    "partial": ([length(BIG), (b"content-type", b"text/plain")], [BIG], {"status": 206}),
    "vary_existing": ([length(BIG), (b"vary", b"Origin")], [BIG], {}),
    "vary_star_and_repeat": ([length(BIG), (b"vary", b"*"), (b"vary", b"accept-encoding")], [BIG], {}),
    "trailers": ([length(BIG)], [BIG], {"trailers": True}),
    "empty": ([length(b"")], [b""], {}),
    "unicode": ([(b"content-type", b"text/html; charset=utf-8")], [TEXT.encode()], {}),
}

ACCEPTS = [b"gzip", b"gzip, deflate, br", b"br", b"identity", None]


def run(module: Any, case: str, accept: bytes | None, **options: Any) -> Messages:
    headers, chunks, app_options = CASES[case]
    app = module.GZipMiddleware(raw_app(headers, chunks, **app_options), **options)
    request_headers = [] if accept is None else [(b"accept-encoding", accept)]
    return asgi(app, headers=request_headers)


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_gzip_messages_match_starlette(case: str, accept: bytes | None) -> None:
    assert decoded(run(TACHYON_GZIP, case, accept)) == decoded(run(STARLETTE_GZIP, case, accept))


@pytest.mark.parametrize(
    "options",
    [
        {"minimum_size": 1},
        {"minimum_size": 10_000},
        {"compresslevel": 1},
        {"thread_minimum_size": 100},  # big chunks compress in a worker thread
        {"exclude_content_types": ("text/plain; charset=utf-8", "APPLICATION/JSON")},
        {"exclude_content_types": ()},
    ],
)
@pytest.mark.parametrize("case", ["big_text", "streaming", "event_stream", "image"])
def test_gzip_options_match_starlette(case: str, options: dict[str, Any]) -> None:
    ours = run(TACHYON_GZIP, case, b"gzip", **options)
    assert decoded(ours) == decoded(run(STARLETTE_GZIP, case, b"gzip", **options))


def test_gzip_body_decompresses() -> None:
    messages = run(TACHYON_GZIP, "streaming", b"gzip")
    compressed = b"".join(message.get("body", b"") for message in messages[1:])
    assert gzip.decompress(compressed) == b"a" * 10 + b"b" * 1000 + b"c" * 3
    assert (b"content-encoding", b"gzip") in messages[0]["headers"]
    assert not any(name == b"content-length" for name, _ in messages[0]["headers"])


def test_gzip_passes_other_messages() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.early_hint", "links": [b"</x>; rel=preload"]})
        await send({"type": "http.response.start", "status": 200, "headers": [length(BIG)], "trailers": True})
        await send({"type": "http.response.body", "body": BIG})
        await send({"type": "http.response.trailers", "headers": [], "more_trailers": False})

    def messages(module: Any) -> Messages:
        return asgi(module.GZipMiddleware(app), headers=[(b"accept-encoding", b"gzip")])

    assert decoded(messages(TACHYON_GZIP)) == decoded(messages(STARLETTE_GZIP))


def test_gzip_pathsend_is_not_compressed() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.pathsend", "path": "/tmp/file"})

    def messages(module: Any) -> Messages:
        return asgi(module.GZipMiddleware(app), headers=[(b"accept-encoding", b"gzip")])

    ours = messages(TACHYON_GZIP)
    assert ours == messages(STARLETTE_GZIP)
    assert [message["type"] for message in ours] == ["http.response.start", "http.response.pathsend"]


def test_gzip_through_app_matches_starlette(both: Any) -> None:
    def build(fw: Any) -> Any:
        gzip_module = __import__(f"{fw.name}.middleware.gzip", fromlist=["GZipMiddleware"])

        async def homepage(request: Any) -> Any:
            return fw.responses.PlainTextResponse("x" * 1000)

        return fw.applications.Starlette(
            routes=[fw.routing.Route("/", homepage)],
            middleware=[fw.middleware.Middleware(gzip_module.GZipMiddleware)],
        )

    request = both(build)
    assert request("GET", "/", headers={"accept-encoding": "gzip"}).text == "x" * 1000
    request("GET", "/", headers={"accept-encoding": "identity"})
