"""The example app served by `make run`."""

from __future__ import annotations

import time

from tachyon import JSONResponse, Middleware, Request, Route, TachyonEngine
from tachyon.types import Receive, Scope, Send


async def homepage(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


class TimingMiddleware:
    """A pure-ASGI middleware: adds an `x-process-time` header to HTTP responses."""

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def send_with_timing(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                elapsed = f"{(time.perf_counter() - start) * 1000:.3f}ms"
                message.setdefault("headers", []).append((b"x-process-time", elapsed.encode()))
            await send(message)

        await self.app(scope, receive, send_with_timing)


routes = [
    Route("/", homepage),
    Route("/users/{id:int}", user),
    Route("/echo", echo, methods=["POST"]),
]

app = TachyonEngine(routes=routes)
timed_app = TachyonEngine(routes=routes, middleware=[Middleware(TimingMiddleware)])
