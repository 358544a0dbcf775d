"""Property-based differential tests: random route tables and paths, Starlette vs Tachyon.

Both routers see the same table and the same request; the whole response (status,
headers, body with the endpoint name, the path params and their types) must be equal.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import STARLETTE, TACHYON
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LITERALS = ["a", "b", "users", "v1", "x.y", "é", "a-b"]
CONVERTORS = ["", ":str", ":int", ":float", ":uuid", ":path", ":hex"]
VALUES = ["1", "42", "007", "1.5", "0.25", "abc", str(uuid.UUID(int=7)), "a.b", "é", "x y", "-1", "1e3", "a/b"]
VALUES += ["ff", "1\n", "a\nb", "%41", "x\n"]


def _register_hex(module: str) -> None:
    convertors = __import__(f"{module}.convertors", fromlist=["Convertor"])

    class HexConvertor(convertors.Convertor):
        regex = "[0-9a-f]+"

        def convert(self, value: str) -> int:
            return int(value, 16)

        def to_string(self, value: int) -> str:
            return format(value, "x")

    convertors.register_url_convertor("hex", HexConvertor())


_register_hex("starlette")
_register_hex("tachyon")
METHODS = [None, ["GET"], ["POST"], ["GET", "POST"], ["PUT", "DELETE"]]


@st.composite
def templates(draw: Any) -> str:
    parts = []
    used = 0
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["lit", "lit", "param", "param-suffix"]))
        if kind == "lit":
            parts.append(draw(st.sampled_from(LITERALS)))
        else:
            used += 1
            conv = draw(st.sampled_from(CONVERTORS))
            param = f"{{p{used}{conv}}}"
            parts.append(param + (".json" if kind == "param-suffix" else ""))
    path = "/" + "/".join(parts)
    if draw(st.booleans()) and path != "/":
        path += "/"
    return path


@st.composite
def tables(draw: Any) -> list[tuple[str, Any, Any]]:
    entries = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["route", "route", "route", "mount", "host", "custom"]))
        if kind in ("route", "custom"):
            entries.append((kind, draw(templates()), draw(st.sampled_from(METHODS))))
        elif kind == "mount":
            prefix = draw(st.sampled_from(["", "/a", "/api", "/{tenant}", "/v1/{n:int}"]))
            children = [(draw(templates()), draw(st.sampled_from(METHODS))) for _ in range(draw(st.integers(1, 3)))]
            entries.append(("mount", prefix, children))
        else:
            entries.append(
                ("host", draw(st.sampled_from(["{sub}.example.com", "api.example.com", "EXAMPLE.com:80"])), None)
            )
    return entries


@st.composite
def paths(draw: Any) -> str:
    segments = [
        draw(st.sampled_from(LITERALS + VALUES + ["api", "x.json", "1.json", ""]))
        for _ in range(draw(st.integers(0, 5)))
    ]
    path = "/" + "/".join(segments)
    if draw(st.booleans()):
        path += "/"
    return path


def build(fw: SimpleNamespace, table: list[tuple[str, Any, Any]]) -> Any:
    Route, Mount, Host, Router = fw.routing.Route, fw.routing.Mount, fw.routing.Host, fw.routing.Router
    JSONResponse = fw.responses.JSONResponse

    def endpoint_for(label: str) -> Any:
        async def endpoint(request: Any) -> Any:
            params = {k: [type(v).__name__, str(v)] for k, v in request.path_params.items()}
            return JSONResponse(
                {
                    "route": label,
                    "params": params,
                    "root_path": request.scope.get("root_path", ""),
                    "custom": request.scope.get("custom"),
                }
            )

        return endpoint

    class CustomRoute(Route):  # overrides matches(), as FastAPI's APIRoute does
        def matches(self, scope: Any) -> Any:
            match, child_scope = super().matches(scope)
            if match is not fw.routing.Match.NONE:
                child_scope["custom"] = True
            return match, child_scope

    routes = []
    for i, (kind, template, extra) in enumerate(table):
        if kind == "route":
            routes.append(Route(template, endpoint_for(f"r{i}"), methods=extra, name=f"r{i % 3}"))
        elif kind == "custom":
            routes.append(CustomRoute(template, endpoint_for(f"c{i}"), methods=extra, name=f"c{i}"))
        elif kind == "mount":
            children = [Route(t, endpoint_for(f"m{i}.{j}"), methods=m, name=f"k{j}") for j, (t, m) in enumerate(extra)]
            routes.append(Mount(template, routes=children, name=None if i % 2 else f"m{i}"))
        else:
            routes.append(
                Host(template, app=Router(routes=[Route("/", endpoint_for(f"h{i}"), name="home")]), name=f"h{i}")
            )
    return fw.applications.Starlette(routes=routes)


async def call(app: Any, method: str, path: str, host: str) -> tuple[int, list[Any], bytes]:
    # Not middleware/_asgi.run_asgi: this call sets the host header alone and turns an
    # exception into a comparable outcome, since both frameworks must fail the same way.
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", host.encode())],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }
    messages: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        messages.append(message)

    try:
        await app(scope, receive, send)
    except Exception as exc:  # both must fail the same way
        return -1, [type(exc).__name__], str(exc).encode()
    start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
    return start["status"], list(start["headers"]), body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(),
    requests=st.lists(
        st.tuples(
            st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE"]),
            paths(),
            st.sampled_from(["testserver", "api.example.com", "Foo.Example.COM:8080", "example.com", "bad host"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_random_tables_route_like_starlette(table: list[tuple[str, Any, Any]], requests: list[Any]) -> None:
    theirs, ours = build(STARLETTE, table), build(TACHYON, table)

    async def run() -> None:
        for method, path, host in requests:
            expected = await call(theirs, method, path, host)
            got = await call(ours, method, path, host)
            assert got == expected, (method, path, host)

    asyncio.run(run())


NAMES = ["r0", "r1", "r2", "c0", "c1", "k0", "k1", "m0", "m2", "m0:k0", "m2:k1", "h1:home", "h2", "home", "nope"]
PARAM_VALUES: list[Any] = [1, 0, "a", "x/y", "", 1.5, uuid.UUID(int=3), "é"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(),
    calls=st.lists(
        st.tuples(
            st.sampled_from(NAMES),
            st.dictionaries(
                st.sampled_from(["p1", "p2", "p3", "path", "tenant", "n", "sub"]),
                st.sampled_from(PARAM_VALUES),
                max_size=3,
            ),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_url_path_for_like_starlette(table: list[tuple[str, Any, Any]], calls: list[Any]) -> None:
    theirs, ours = build(STARLETTE, table), build(TACHYON, table)

    def outcome(app: Any, name: str, params: dict[str, Any]) -> Any:
        try:
            url = app.url_path_for(name, **params)
        except Exception as exc:  # the same exception type and text
            return type(exc).__name__, str(exc)
        return str(url), url.protocol, url.host

    for name, params in calls:
        assert outcome(ours, name, dict(params)) == outcome(theirs, name, dict(params)), (name, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/users/42"), ("DELETE", "/files/a/b.txt"), ("PUT", "/price/1.5/eur"), ("POST", "/users/7/")],
)
def test_wrong_method_child_scope_like_starlette(both: Callable[..., Any], method: str, path: str) -> None:
    """A PARTIAL match writes the route's child scope (endpoint, converted path_params)
    before the 405 is raised: a handler that reads them sees what it sees on Starlette."""

    def build(fw: Any) -> Any:
        async def endpoint(request: Any) -> Any:  # pragma: no cover - wrong method only
            return fw.responses.PlainTextResponse("ok")

        async def on_405(request: Any, exc: Any) -> Any:
            scope = request.scope
            params = {k: [type(v).__name__, str(v)] for k, v in request.path_params.items()}
            body = {"params": params, "endpoint": scope["endpoint"].__name__, "route": scope["route"].path}
            return fw.responses.JSONResponse(body, status_code=405)

        routes = [
            fw.routing.Route("/users/{id:int}", endpoint, methods=["GET"]),
            fw.routing.Route("/files/{rest:path}", endpoint, methods=["GET", "PUT"]),
            fw.routing.Route("/price/{amount:float}/{currency}", endpoint, methods=["GET"]),
        ]
        return fw.applications.Starlette(routes=routes, exception_handlers={405: on_405})

    response = both(build)(method, path)
    assert response.status_code in (405, 307, 404)
