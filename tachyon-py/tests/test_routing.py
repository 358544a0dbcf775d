"""Routing: template errors at startup, and Starlette's matching rules, differentially."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from conftest import STARLETTE

from tachyon.routing import Host, Route, RouteTemplateError, compile_path


async def endpoint(request: Any) -> Any:  # pragma: no cover - never called
    raise AssertionError


def http_scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


@pytest.mark.parametrize(
    ("template", "starlette_error"),
    [
        ("/users/{id:number}", AssertionError),
        ("/a/{x}/b/{x:int}", ValueError),
        ("/{a}/{b}/{a}/{b}", ValueError),
        ("{sub:nope}.example.org", AssertionError),
    ],
)
def test_invalid_templates_are_rejected_at_startup_with_starlettes_message(
    template: str, starlette_error: type[Exception]
) -> None:
    with pytest.raises(starlette_error) as theirs:
        STARLETTE.routing.compile_path(template)
    build = Host if not template.startswith("/") else Route
    for attempt in (lambda: build(template, endpoint), lambda: compile_path(template)):
        with pytest.raises(RouteTemplateError) as info:
            attempt()
        assert str(info.value) == str(theirs.value)
        # Starlette raises AssertionError (unknown convertor) and ValueError (duplicates): both still catch it.
        assert isinstance(info.value, ValueError) and isinstance(info.value, AssertionError)


def test_an_unclosed_brace_is_an_error_worded_as_starlettes() -> None:
    with pytest.raises(RouteTemplateError, match=r"^Unclosed brace at path /users/\{id$"):
        Route("/users/{id", endpoint)
    # Starlette takes it as literal text (a route that never matches what was meant).
    assert STARLETTE.routing.compile_path("/users/{id")[0].pattern == r"^/users/\{id$"


# Every character `re.escape` escapes, text that looks like a parameter but is not one, hosts
# with and without ports (IPv6 too), and non-ASCII text.
COMPILE_PATH_CASES = [
    "/",
    "/users/{id:int}/files/{name}",
    "/f/{x:float}/{u:uuid}/{rest:path}",
    "/{a}-{b}.{c:int}",
    "/sp ec\t\n\x0b\x0c\r#$&()*+-.?[\\]^|~/{x}",
    "/{1x}/{}/{b-c}/}/{x:}/{x:1}/{ x}/{{y}}",
    "/é/日本/{x}",
    "",
    "{sub}.example.org",
    "{sub}.example.org:8000",
    "api.{domain:str}:{port:int}",
    "[::1]",
    "[::1]:8000",
    "Example.ORG",
]


@pytest.mark.parametrize("template", COMPILE_PATH_CASES)
def test_compile_path_is_starlettes(template: str) -> None:
    regex, fmt, convertors = compile_path(template)
    s_regex, s_fmt, s_convertors = STARLETTE.routing.compile_path(template)
    assert (regex.pattern, regex.flags, fmt) == (s_regex.pattern, s_regex.flags, s_fmt)
    assert {k: type(v).__name__ for k, v in convertors.items()} == {
        k: type(v).__name__ for k, v in s_convertors.items()
    }


def test_compile_path_binds_registered_convertors() -> None:
    from tachyon.convertors import CONVERTOR_TYPES, Convertor, register_url_convertor

    class Slug(Convertor[str]):
        regex = "[a-z-]+(?<!-)"

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    slug = Slug()
    register_url_convertor("slug_r3", slug)
    try:
        regex, fmt, convertors = compile_path("/post/{s:slug_r3}")
        assert regex.pattern == r"^/post/(?P<s>[a-z-]+(?<!-))$"
        assert convertors == {"s": slug} and fmt == "/post/{s}"
    finally:
        del CONVERTOR_TYPES["slug_r3"]


def test_native_contracts_are_typed() -> None:
    from tachyon._tachyon import Found, PathPattern, RouteKind, RouteTable
    from tachyon._tachyon import compile_path as native_compile_path
    from tachyon.convertors import CONVERTOR_TYPES

    pattern = native_compile_path("{sub}.example.org:80", CONVERTOR_TYPES)
    assert isinstance(pattern, PathPattern)
    assert (pattern.regex, pattern.format, pattern.ignore_case) == (
        r"^(?P<sub>[^/]+)\.example\.org$",
        "{sub}.example.org:80",
        True,
    )
    assert pattern.convertors == {"sub": CONVERTOR_TYPES["str"]}

    class Opaque(Route):
        def matches(self, scope: Any) -> Any:
            return Route.matches(self, scope)

    routes = [Route("/a", endpoint, methods=["POST"]), Opaque("/a", endpoint), Route("/a", endpoint)]
    entries = [(r, r.endpoint, r.param_convertors, None) for r in routes]
    specs = [(RouteKind.HTTP, "/a", ["POST"]), (RouteKind.OPAQUE, None, None), (RouteKind.HTTP, "/a", ["GET", "HEAD"])]
    table = RouteTable(specs, [], entries)
    assert table.opaque == [1]
    found = table.lookup(http_scope("GET", "/a"))
    # The opaque route comes before the native FULL: it was asked, and won with its child scope.
    assert isinstance(found, Found)
    assert (found.index, found.full, found.child["endpoint"]) == (1, True, endpoint)
    found = table.lookup(http_scope("PUT", "/a"))
    assert (found.index, found.full, found.child) == (0, False, None)
    assert table.lookup(http_scope("GET", "/b")) is None
    # A kind is a RouteKind, never a string.
    with pytest.raises(TypeError):
        RouteTable([("http", "/a", None)], [], entries[:1])


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
