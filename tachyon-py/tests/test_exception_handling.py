"""Exception handling: differential against Starlette, including the fused fast path."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from conftest import STARLETTE, TACHYON, raw_response


class Teapot(Exception):
    pass


def app_with_handlers(fw: SimpleNamespace) -> Any:
    Route, Mount = fw.routing.Route, fw.routing.Mount
    PlainTextResponse, Response = fw.responses.PlainTextResponse, fw.responses.Response
    HTTPException = fw.exceptions.HTTPException

    async def teapot(request: Any) -> Any:
        request.state.marker = "set-by-endpoint"
        raise Teapot()

    async def http_error(request: Any) -> Any:
        raise HTTPException(409, detail="conflict!", headers={"x-a": "b"})

    async def no_content(request: Any) -> Any:
        raise HTTPException(304)

    def sync_error(request: Any) -> Any:
        raise Teapot()

    class StartsThenFails(Response):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise Teapot()

    async def late(request: Any) -> Any:
        return StartsThenFails()

    async def on_teapot(request: Any, exc: Exception) -> Any:
        body = await request.body()
        return PlainTextResponse(f"teapot {request.state.marker} {body!r}", status_code=418)

    async def endpoint(request: Any) -> Any:
        return PlainTextResponse("ok")

    class AsgiEndpoint:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            raise HTTPException(401)

    return fw.applications.Starlette(
        routes=[
            Route("/teapot", teapot, methods=["POST"]),
            Route("/http", http_error),
            Route("/304", no_content),
            Route("/sync", sync_error),
            Route("/late", late),
            Route("/asgi", AsgiEndpoint()),
            Mount("/sub", routes=[Route("/teapot", teapot, methods=["POST"]), Route("/ok", endpoint)]),
        ],
        exception_handlers={Teapot: on_teapot},
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/teapot"),
        ("GET", "/http"),
        ("GET", "/304"),
        ("GET", "/asgi"),
        ("POST", "/sub/teapot"),
        ("GET", "/sub/ok"),
        ("GET", "/sub/missing"),
        ("GET", "/missing"),
    ],
)
def test_handled_exceptions_match_starlette(both: Any, method: str, url: str) -> None:
    both(app_with_handlers)(method, url, content=b"the body" if method == "POST" else None)


def test_sync_endpoint_exception_reaches_handler() -> None:
    for fw in (STARLETTE, TACHYON):
        client = fw.testclient.TestClient(app_with_handlers(fw))
        with pytest.raises(AttributeError):  # the handler reads request.state.marker, never set here
            client.get("/sync")


def test_handled_exception_after_response_started_is_a_runtime_error() -> None:
    results = []
    for fw in (STARLETTE, TACHYON):
        client = fw.testclient.TestClient(app_with_handlers(fw))
        with pytest.raises(RuntimeError, match="Caught handled exception, but response already started.") as info:
            client.get("/late")
        results.append(type(info.value.__cause__))
    assert results == [Teapot, Teapot]


def test_unhandled_exception_gives_the_same_500() -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def boom(request: Any) -> Any:
            raise ValueError("boom")

        return fw.applications.Starlette(routes=[fw.routing.Route("/", boom)])

    responses = [
        raw_response(fw.testclient.TestClient(build(fw), raise_server_exceptions=False).get("/"))
        for fw in (STARLETTE, TACHYON)
    ]
    assert responses[0] == responses[1]
    assert responses[1][0] == 500


def body_limited(fw: SimpleNamespace) -> Any:
    Route, Mount, Router = fw.routing.Route, fw.routing.Mount, fw.routing.Router
    PlainTextResponse = fw.responses.PlainTextResponse

    async def size(request: Any) -> Any:
        return PlainTextResponse(str(len(await request.body())))

    return fw.applications.Starlette(
        routes=[
            Route("/route", size, methods=["POST"], max_body_size=4),
            Mount("/mount", routes=[Route("/", size, methods=["POST"])], max_body_size=6),
            Mount("/router", app=Router(routes=[Route("/", size, methods=["POST"])], max_body_size=8)),
            Route("/app", size, methods=["POST"]),
        ],
        max_body_size=10,
    )


@pytest.mark.parametrize("url", ["/route", "/mount/", "/router/", "/app"])
@pytest.mark.parametrize("size", [0, 4, 5, 7, 9, 11])
def test_max_body_size_at_every_level_matches_starlette(both: Any, url: str, size: int) -> None:
    both(body_limited)("POST", url, content=b"x" * size)


def not_found_variants(fw: SimpleNamespace, variant: str) -> Any:
    Route, Router = fw.routing.Route, fw.routing.Router
    PlainTextResponse = fw.responses.PlainTextResponse
    HTTPException = fw.exceptions.HTTPException

    async def endpoint(request: Any) -> Any:
        return PlainTextResponse("ok")

    async def on_http(request: Any, exc: Any) -> Any:
        return PlainTextResponse(f"handled {exc.status_code}", status_code=exc.status_code)

    async def default(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("my default", status_code=410)(scope, receive, send)

    routes = [Route("/", endpoint)]
    if variant == "plain":
        return fw.applications.Starlette(routes=routes)
    if variant == "class-handler":
        return fw.applications.Starlette(routes=routes, exception_handlers={HTTPException: on_http})
    if variant == "status-handler":
        return fw.applications.Starlette(routes=routes, exception_handlers={404: on_http, 405: on_http})
    app = fw.applications.Starlette()
    app.router = Router(routes=routes, default=default)
    return app


@pytest.mark.parametrize("variant", ["plain", "class-handler", "status-handler", "router-default"])
def test_misses_answer_like_starlette(both: Any, variant: str) -> None:
    request = both(lambda fw: not_found_variants(fw, variant))
    request("GET", "/missing")
    request("POST", "/missing/")
    request("POST", "/")
    request("DELETE", "/")
