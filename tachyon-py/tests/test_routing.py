"""Routing: template errors at startup, and Starlette's matching rules, differentially."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tachyon.routing import Route, RouteTemplateError, compile_path


async def endpoint(request: Any) -> Any:  # pragma: no cover - never called
    raise AssertionError


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("/users/{id:number}", "Unknown path convertor 'number' in path template '/users/{id:number}'"),
        ("/a/{x}/b/{x:int}", "Duplicated param name x at path /a/{x}/b/{x:int}"),
        ("/{a}/{b}/{a}/{b}", "Duplicated param names a, b at path /{a}/{b}/{a}/{b}"),
    ],
)
def test_invalid_templates_are_rejected_at_startup_naming_the_template(template: str, message: str) -> None:
    with pytest.raises(RouteTemplateError) as info:
        Route(template, endpoint)
    assert str(info.value) == message
    # Starlette raises AssertionError (unknown convertor) and ValueError (duplicates): both still catch it.
    assert isinstance(info.value, ValueError) and isinstance(info.value, AssertionError)


def test_compile_path_returns_a_working_regex_format_and_convertors() -> None:
    regex, fmt, convertors = compile_path("/users/{id:int}/files/{name}")
    found = regex.match("/users/12/files/a.txt")
    assert found is not None and found.groupdict() == {"id": "12", "name": "a.txt"}
    assert fmt == "/users/{id}/files/{name}"
    assert sorted(convertors) == ["id", "name"]
    host_regex, host_format, _ = compile_path("{sub}.example.org:8000")
    assert host_regex.match("API.example.org") and host_format == "{sub}.example.org:8000"


def mounted_app(fw: SimpleNamespace) -> Any:
    Route, Mount, Host, Router = fw.routing.Route, fw.routing.Mount, fw.routing.Host, fw.routing.Router
    JSONResponse = fw.responses.JSONResponse

    async def show(request: Any) -> Any:
        return JSONResponse(
            {
                "path_params": {k: str(v) for k, v in request.path_params.items()},
                "root_path": request.scope.get("root_path"),
                "url": str(request.url),
                "url_for": str(request.url_for("api:item", item_id=3)),
            }
        )

    api = Router(routes=[Route("/items/{item_id:int}", show, name="item"), Route("/items/", show, name="items")])
    return fw.applications.Starlette(
        routes=[
            Route("/first/{x}", show, methods=["POST"]),
            Route("/first/{x}", show, methods=["PUT"]),
            Route("/first/special", show),
            Mount("/api", app=api, name="api"),
            Host("{tenant}.example.com", app=Router(routes=[Route("/", show)]), name="tenant"),
        ]
    )


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("GET", "/first/special", {}),
        ("POST", "/first/special", {}),
        ("PUT", "/first/x", {}),
        ("DELETE", "/first/x", {}),
        ("GET", "/api/items/7", {}),
        ("GET", "/api/items", {}),
        ("GET", "/api/items/7/", {}),
        ("GET", "/api/nothing", {}),
        ("GET", "/api", {}),
        ("GET", "/", {"host": "ACME.example.com:8080"}),
        ("GET", "/", {"host": "example.com"}),
    ],
)
def test_mounts_hosts_and_first_match_agree_with_starlette(
    both: Any, method: str, url: str, headers: dict[str, str]
) -> None:
    both(mounted_app)(method, url, headers=headers, follow_redirects=False)


def test_hostile_paths_get_a_4xx_never_a_crash() -> None:
    import asyncio

    from tachyon import PlainTextResponse, TachyonEngine

    async def echo(request: Any) -> Any:
        return PlainTextResponse(request.path_params["x"])

    app = TachyonEngine(routes=[Route("/{x}", echo), Route("/n/{n:int}", echo)])
    paths = ["/\udcff", "/n/" + "9" * 5000, "/\x00", "/a\nb", "/%zz", "/" + "a/" * 10_000]
    for path in paths:
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "raw_path": b"/",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"x")],
            "scheme": "http",
            "server": ("x", 80),
        }
        messages: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        async def send(message: Any, messages: list[Any] = messages) -> None:
            messages.append(message)

        asyncio.run(app(scope, receive, send))
        status = messages[0]["status"]
        assert status == 200 or 400 <= status < 500, (path[:20], status)
