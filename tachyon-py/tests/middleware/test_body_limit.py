"""RequestBodyLimitMiddleware against Starlette: 413 for bodies over the limit."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from _asgi import Messages, asgi, stacks

STARLETTE_LIMIT, TACHYON_LIMIT = stacks("middleware.body_limit")


def limited_app(fw: SimpleNamespace, limit: int) -> Any:
    body_limit = importlib.import_module(f"{fw.name}.middleware.body_limit")

    async def echo(request: Any) -> Any:
        body = await request.body()
        return fw.responses.PlainTextResponse(f"{len(body)} {request.scope.get('starlette.max_body_size')}")

    async def ignore(request: Any) -> Any:
        return fw.responses.PlainTextResponse("ignored the body")

    return fw.applications.Starlette(
        routes=[
            fw.routing.Route("/echo", echo, methods=["POST"]),
            fw.routing.Route("/ignore", ignore, methods=["POST"]),
        ],
        middleware=[fw.middleware.Middleware(body_limit.RequestBodyLimitMiddleware, max_body_size=limit)],
    )


@pytest.mark.parametrize("size", [0, 1, 9, 10, 11, 1000])
@pytest.mark.parametrize("path", ["/echo", "/ignore"])
def test_body_limit_matches_starlette(both: Any, size: int, path: str) -> None:
    request = both(lambda fw: limited_app(fw, 10), raise_server_exceptions=False)
    response = request("POST", path, content=b"x" * size)
    assert response.status_code == (413 if size > 10 else 200)


@pytest.mark.parametrize("chunks", [[b"abcd", b"abcd", b""], [b"abcd", b"abcd", b"abcd", b""], [b"x" * 11]])
def test_streamed_body_without_content_length(chunks: list[bytes]) -> None:
    from conftest import STARLETTE, TACHYON

    def run(fw: SimpleNamespace) -> Messages:
        return asgi(limited_app(fw, 10), method="POST", path="/echo", body_chunks=chunks)

    ours = run(TACHYON)
    assert ours == run(STARLETTE)
    assert ours[0]["status"] == (200 if sum(map(len, chunks)) <= 10 else 413)


ECHO_HEADERS: list[tuple[bytes, bytes]] = [(b"content-type", b"text/plain")]


async def echo_asgi(scope: Any, receive: Any, send: Any) -> None:
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": ECHO_HEADERS})
    await send({"type": "http.response.body", "body": f"{size} {scope.get('starlette.max_body_size')}".encode()})


async def answer_first_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": ECHO_HEADERS})
    await receive()
    await send({"type": "http.response.body", "body": b"late"})


@pytest.mark.parametrize(
    ("outer", "inner", "chunks", "content_length"),
    [
        (10, 5, [b"abc", b"def"], None),
        (5, 10, [b"abc", b"def"], None),
        (10, 20, [b"abc", b"def"], b"6"),
        (4, 20, [b"abc", b"def"], b"6"),
        (20, 4, [b"abc", b"def"], b"6"),
        (20, 20, [b"abc"], b"not-a-number"),
    ],
)
def test_nested_limits_match_starlette(
    outer: int, inner: int, chunks: list[bytes], content_length: bytes | None
) -> None:
    headers = [] if content_length is None else [(b"content-length", content_length)]

    def run(module: Any) -> Messages | str:
        app = module.RequestBodyLimitMiddleware(module.RequestBodyLimitMiddleware(echo_asgi, inner), outer)
        scope: dict[str, Any] = {}
        try:
            return asgi(app, method="POST", headers=headers, body_chunks=chunks, scope_extra=scope)
        except Exception as exc:
            return repr(exc)

    assert run(TACHYON_LIMIT) == run(STARLETTE_LIMIT)


@pytest.mark.parametrize("content_length", [None, b"100"])
def test_over_limit_after_response_started(content_length: bytes | None) -> None:
    headers = [] if content_length is None else [(b"content-length", content_length)]

    def run(module: Any) -> Messages | str:
        app = module.RequestBodyLimitMiddleware(answer_first_asgi, 4)
        try:
            return asgi(app, method="POST", headers=headers, body_chunks=[b"0123456789"])
        except Exception as exc:
            return f"{type(exc).__name__} {exc}"

    assert run(TACHYON_LIMIT) == run(STARLETTE_LIMIT)


def test_scope_keys_are_restored() -> None:
    scope_seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope_seen.update(scope)
        await echo_asgi(scope, receive, send)

    middleware = TACHYON_LIMIT.RequestBodyLimitMiddleware(app, 100)
    asgi(middleware, method="POST", body_chunks=[b"x"])
    assert scope_seen[TACHYON_LIMIT.MAX_BODY_SIZE_SCOPE_KEY] == 100
