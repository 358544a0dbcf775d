"""The apps the HTTP load harness serves: the same four endpoints on each framework.

- `tachyon_app` and `starlette_app`: the framework's Route / Request / JSONResponse, no middleware.
- `bare_asgi` and `bare_rsgi`: the ceiling for any framework on a server. They answer the same
  requests with the same bytes, doing the least that the scenario needs: a dict route lookup,
  a constant body where the answer is constant, stdlib `json` where it is not (the same
  encoder and arguments Tachyon's JSONResponse output must match).

Scenarios (see run.py): GET / (hello JSON), GET /users/123?q=hello (int param + query),
POST /echo (JSON echo), GET /big (a 10 KB JSON response), GET /roundtrip (the handler awaits
a round trip to a local asyncio TCP echo server, `echo_server.py`, on the port in
$LOAD_ECHO_PORT, over a connection kept open between requests), GET /missing (404).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.routing import Route as StarletteRoute

from tachyon import JSONResponse, Request, Route, TachyonEngine

__all__ = ["bare_asgi", "bare_rsgi", "starlette_app", "tachyon_app"]

# About 10 KB of JSON once encoded: the same data for every framework.
BIG = [
    {"id": i, "name": f"item {i}", "tags": ["alpha", "beta"], "price": i * 1.25, "active": i % 2 == 0}
    for i in range(125)
]


class EchoPool:
    """Connections to the load harness's TCP echo server, kept open between requests: each
    round trip takes an idle one (or opens one), sends a line and awaits it back."""

    def __init__(self) -> None:
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def round_trip(self, line: bytes) -> bytes:
        if self._idle:
            reader, writer = self._idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", int(os.environ["LOAD_ECHO_PORT"]))
        writer.write(line)
        answer = await reader.readline()
        self._idle.append((reader, writer))
        return answer


_echo = EchoPool()


# --- Tachyon ---------------------------------------------------------------------------------


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


async def big(request: Request) -> JSONResponse:
    return JSONResponse(BIG)


async def roundtrip(request: Request) -> JSONResponse:
    return JSONResponse({"echo": (await _echo.round_trip(b"ping\n")).decode().strip()})


tachyon_app = TachyonEngine(
    routes=[
        Route("/", hello),
        Route("/users/{id:int}", user),
        Route("/echo", echo, methods=["POST"]),
        Route("/big", big),
        Route("/roundtrip", roundtrip),
    ]
)


# --- Starlette 1.10 ----------------------------------------------------------------------------


async def s_hello(request: StarletteRequest) -> StarletteJSONResponse:
    return StarletteJSONResponse({"message": "Hello, World!"})


async def s_user(request: StarletteRequest) -> StarletteJSONResponse:
    return StarletteJSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


async def s_echo(request: StarletteRequest) -> StarletteJSONResponse:
    return StarletteJSONResponse(await request.json())


async def s_big(request: StarletteRequest) -> StarletteJSONResponse:
    return StarletteJSONResponse(BIG)


async def s_roundtrip(request: StarletteRequest) -> StarletteJSONResponse:
    return StarletteJSONResponse({"echo": (await _echo.round_trip(b"ping\n")).decode().strip()})


starlette_app = Starlette(
    routes=[
        StarletteRoute("/", s_hello),
        StarletteRoute("/users/{id:int}", s_user),
        StarletteRoute("/echo", s_echo, methods=["POST"]),
        StarletteRoute("/big", s_big),
        StarletteRoute("/roundtrip", s_roundtrip),
    ]
)


# --- bare callables (the ceiling) ----------------------------------------------------------------

_dumps = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_HELLO = b'{"message":"Hello, World!"}'
_NOT_FOUND = b"Not Found"
_JSON = b"application/json"
_TEXT = b"text/plain; charset=utf-8"


async def _answer(method: str, path: str, query: str, body: bytes) -> tuple[int, bytes, bytes]:
    """(status, content-type, body) for one request: the endpoints above, minimally."""
    if path == "/" and method == "GET":
        return 200, _JSON, _HELLO
    if path == "/big" and method == "GET":
        return 200, _JSON, _dumps(BIG).encode()
    if path == "/roundtrip" and method == "GET":
        return 200, _JSON, _dumps({"echo": (await _echo.round_trip(b"ping\n")).decode().strip()}).encode()
    if path.startswith("/users/") and method == "GET" and path[7:].isdigit():
        q = dict(parse_qsl(query)).get("q")
        return 200, _JSON, _dumps({"id": int(path[7:]), "q": q}).encode()
    if path == "/echo" and method == "POST":
        return 200, _JSON, _dumps(json.loads(body)).encode()
    return 404, _TEXT, _NOT_FOUND


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI callable (lifespan: not supported, which servers accept)."""
    if scope["type"] != "http":
        return
    body = b""
    if scope["method"] == "POST":
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
    status, content_type, payload = await _answer(scope["method"], scope["path"], scope["query_string"].decode(), body)
    headers = [(b"content-length", str(len(payload)).encode()), (b"content-type", content_type)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class BareRSGI:
    """A bare RSGI app for Granian."""

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        body = await protocol() if scope.method == "POST" else b""
        status, content_type, payload = await _answer(scope.method, scope.path, scope.query_string, body)
        headers = [("content-length", str(len(payload))), ("content-type", content_type.decode())]
        protocol.response_bytes(status, headers, payload)


bare_rsgi = BareRSGI()
