"""Request: lazy parts, body and JSON, and what a client gets for a bad JSON body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tachyon import JSONResponse, PlainTextResponse, Request, Route, TachyonEngine
from tachyon.exceptions import HTTPException, JSONBodyDecodeError
from tachyon.testclient import TestClient


async def echo_json(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


async def describe(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "url": str(request.url),
            "path": request.url.path,
            "host": request.headers.get("HOST"),
            "ua": request.headers["User-Agent"],
            "q": dict(request.query_params),
            "body": body.decode(),
            "again": (await request.body()).decode(),
            "client": list(request.client or ()),
            "cookies": request.cookies,
        }
    )


app = TachyonEngine(routes=[Route("/json", echo_json, methods=["POST"]), Route("/d", describe, methods=["PUT"])])
client = TestClient(app)


def test_request_surface() -> None:
    response = client.put("/d?a=1&b=%20", content=b"payload", headers={"cookie": 'x=1; y="q"'})
    assert response.json() == {
        "method": "PUT",
        "url": "http://testserver/d?a=1&b=%20",
        "path": "/d",
        "host": "testserver",
        "ua": "testclient",
        "q": {"a": "1", "b": " "},
        "body": "payload",
        "again": "payload",
        "client": ["testclient", 50000],
        "cookies": {"x": "1", "y": "q"},
    }


@pytest.mark.parametrize(
    "body",
    [b"{bad", b"", b"[1,", b'{"a":1}x', b"\xff\xfe", b"[" * 100_000, b"[" * (10 * 1024 * 1024)],
    ids=["syntax", "empty", "truncated", "trailing", "invalid-utf8", "100k-deep", "10MB-of-brackets"],
)
def test_invalid_json_body_gives_the_client_a_400(body: bytes) -> None:
    response = client.post("/json", content=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("Invalid JSON body: ")


def test_invalid_json_is_still_a_json_decode_error_for_code_that_catches_it() -> None:
    caught: list[Exception] = []

    async def endpoint(request: Request) -> PlainTextResponse:
        try:
            await request.json()
        except json.JSONDecodeError as exc:
            caught.append(exc)
            return PlainTextResponse("handled", status_code=422)
        return PlainTextResponse("ok")

    response = TestClient(TachyonEngine(routes=[Route("/", endpoint, methods=["POST"])])).post("/", content=b"{")
    assert (response.status_code, response.text) == (422, "handled")
    (exc,) = caught
    assert isinstance(exc, JSONBodyDecodeError) and isinstance(exc, HTTPException)
    assert isinstance(exc, ValueError)
    assert exc.status_code == 400 and exc.pos == 1


def test_json_is_parsed_once() -> None:
    seen: list[Any] = []

    async def endpoint(request: Request) -> JSONResponse:
        first = await request.json()
        seen.append(first is await request.json())
        return JSONResponse(first)

    TestClient(TachyonEngine(routes=[Route("/", endpoint, methods=["POST"])])).post("/", json={"a": [1]})
    assert seen == [True]
