"""Routes check their template natively when built and compile Starlette's `path_regex`,
`path_format` and `param_convertors` (a Host's `host_regex` / `host_format`) only when read;
`Mount.matches` and `Host.matches` answer natively. Everything observable is Starlette's."""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

import pytest
from conftest import STARLETTE, TACHYON

from tachyon.routing import Host, Mount, Route, Router, RouteTemplateError, WebSocketRoute, compile_path


async def endpoint(request: Any) -> None:  # pragma: no cover - never called
    pass


async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
    pass


def http(path: str, method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], **extra}


def compiled(route: Any, names: tuple[str, str, str]) -> tuple[Any, ...]:
    regex, fmt, convertors = (getattr(route, name) for name in names)
    return regex.pattern, regex.flags, fmt, {k: type(v).__name__ for k, v in convertors.items()}


PATH_NAMES = ("path_regex", "path_format", "param_convertors")
HOST_NAMES = ("host_regex", "host_format", "param_convertors")

TEMPLATES = [
    "/",
    "/users",
    "/users/{id}",
    "/users/{id:int}/posts/{slug:str}",
    "/f/{x:float}/{u:uuid}/{rest:path}",
    "/{a}-{b}",
    "/files/{name}.{ext}",
    "/literal{",
    "/{1abc}",
    "/a/{b}/{c",
    "/with space/{x}",
    "/dots.and+plus/{x}",
    "/é/{x}",
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_route_attributes_compile_lazily_to_compile_paths_result(template: str) -> None:
    try:
        expected = compile_path(template)
    except RouteTemplateError:
        with pytest.raises(RouteTemplateError):
            Route(template, endpoint)
        return
    route = Route(template, endpoint)
    ws = WebSocketRoute(template, endpoint)
    for r in (route, ws):
        assert not {"path_regex", "path_format", "param_convertors"} & set(vars(r))
        assert r.path_regex.pattern == expected[0].pattern
        assert (r.path_format, r.param_convertors) == (expected[1], expected[2])
        # Set once, as plain attributes: the same objects on every read.
        assert vars(r)["path_regex"] is r.path_regex
        assert vars(r)["param_convertors"] is r.param_convertors
    theirs = STARLETTE.routing.Route(template, endpoint)
    assert compiled(route, PATH_NAMES) == compiled(theirs, PATH_NAMES)


@pytest.mark.parametrize("prefix", ["", "/", "/static", "/static/", "/users/{id:int}", "/a/{b}/c"])
def test_mount_attributes_compile_lazily(prefix: str) -> None:
    ours, theirs = Mount(prefix, app=app), STARLETTE.routing.Mount(prefix, app=app)
    assert "path_regex" not in vars(ours)
    assert compiled(ours, PATH_NAMES) == compiled(theirs, PATH_NAMES)


@pytest.mark.parametrize("host", ["example.org", "{sub}.example.org", "example.org:8000", "{a}.{b:int}.x", "[::1]"])
def test_host_attributes_compile_lazily(host: str) -> None:
    ours, theirs = Host(host, app=app), STARLETTE.routing.Host(host, app=app)
    assert "host_regex" not in vars(ours)
    assert compiled(ours, HOST_NAMES) == compiled(theirs, HOST_NAMES)


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda fw: fw.routing.Route("/a/{x:nope}", endpoint), AssertionError),
        (lambda fw: fw.routing.Route("/a/{x}/{x}", endpoint), ValueError),
        (lambda fw: fw.routing.WebSocketRoute("/a/{x:nope}", endpoint), AssertionError),
        (lambda fw: fw.routing.Mount("/a/{path}", app=app), ValueError),
        (lambda fw: fw.routing.Mount("/a/{x:nope}", app=app), AssertionError),
        (lambda fw: fw.routing.Host("{x:nope}.org", app=app), AssertionError),
        (lambda fw: fw.routing.Host("{x}.{x}.org", app=app), ValueError),
    ],
)
def test_a_bad_template_still_fails_when_the_route_is_built(build: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        build(STARLETTE)
    with pytest.raises(error):
        build(TACHYON)


def test_fastapi_style_code_reads_and_replaces_the_attributes() -> None:
    route = Route("/items/{item_id:int}", endpoint)
    # What FastAPI's APIRoute and OpenAPI generation read.
    assert route.path_regex.match("/items/3")
    assert route.path_format == "/items/{item_id}"
    assert list(route.param_convertors) == ["item_id"]
    assert route.matches(http("/items/3"))[1]["path_params"] == {"item_id": 3}
    assert route.url_path_for("endpoint", item_id=5) == "/items/5"
    # An assignment before any read is kept; matching then follows it, as on Starlette.
    other = Route("/items/{item_id:int}", endpoint)
    other.path_regex = re.compile("^/things/(?P<item_id>[0-9]+)$")
    assert other.matches(http("/items/3"))[0].name == "NONE"
    assert other.matches(http("/things/3"))[1]["path_params"] == {"item_id": 3}
    assert other.path_format == "/items/{item_id}"


def test_subclasses_that_define_the_attributes_or_skip_init() -> None:
    class FixedRegex(Route):
        path_regex = re.compile("^/fixed$")

    route = FixedRegex("/a/{x}", endpoint)
    # Starlette's __init__ assigns the compiled regex over the class attribute.
    assert route.path_regex.pattern == compile_path("/a/{x}")[0].pattern
    assert route.matches(http("/a/1"))[0].name == "FULL"

    class NoInit(Route):
        def __init__(self) -> None:
            self.path = "/x"

    for cls in (NoInit, type("NoInitS", (STARLETTE.routing.Route,), {"__init__": NoInit.__init__})):
        with pytest.raises(AttributeError, match="path_regex"):
            cls().path_regex  # noqa: B018


def test_a_reregistered_builtin_convertor_is_bound_as_starlette_binds_it() -> None:
    from tachyon.convertors import CONVERTOR_TYPES, IntegerConvertor

    class Doubled(IntegerConvertor):
        def convert(self, value: str) -> int:
            return int(value) * 2

    original = CONVERTOR_TYPES["int"]
    CONVERTOR_TYPES["int"] = Doubled()
    try:
        route = Route("/n/{n:int}", endpoint)
    finally:
        CONVERTOR_TYPES["int"] = original
    assert route.matches(http("/n/4"))[1]["path_params"] == {"n": 8}
    assert isinstance(route.param_convertors["n"], Doubled)
    # Built while `int` meant the built-in: that one stays bound.
    plain = Route("/n/{n:int}", endpoint)
    CONVERTOR_TYPES["int"] = Doubled()
    try:
        assert plain.matches(http("/n/4"))[1]["path_params"] == {"n": 4}
        assert type(plain.param_convertors["n"]) is IntegerConvertor
    finally:
        CONVERTOR_TYPES["int"] = original


def test_routers_route_without_compiling_the_attributes() -> None:
    routes = [
        Route("/users/{id:int}", endpoint),
        WebSocketRoute("/ws/{n}", endpoint),
        Mount("/static", app=app),
        Host("{sub}.example.org", app=app),
    ]
    router = Router(routes)
    scope = http("/users/7", headers=[(b"host", b"api.example.org")])
    found = router.resolve(scope)
    assert found is not None and found[0] is routes[0]
    assert scope["path_params"] == {"id": 7}
    assert router.match_route(http("/static/a.css"))[0] is routes[2]
    for route in routes:
        assert "param_convertors" not in vars(route)


MOUNT_CASES: list[tuple[str, dict[str, Any]]] = [
    ("/static", http("/static/css/a.css")),
    ("/static", http("/static")),
    ("/static", http("/static/")),
    ("/static", http("/staticx")),
    ("/static", http("/other")),
    ("", http("/anything/here")),
    ("", http("/")),
    ("/users/{id:int}", http("/users/42/posts")),
    ("/users/{id:int}", http("/users/x/posts")),
    ("/u/{name}/{kind:float}", http("/u/bob/1.5/x")),
    ("/v/{u:uuid}", http(f"/v/{uuid.UUID(int=9)}/x")),
    ("/static", http("/root/static/a", root_path="/root")),
    ("/static", http("/static/a", root_path="/root")),
    ("/static", http("/root/static/a", root_path="/root", app_root_path="/app")),
    ("/inner", http("/inner/x", path_params={"outer": 1})),
    ("/static", {"type": "websocket", "path": "/static/ws", "headers": []}),
    ("/static", {"type": "lifespan"}),
    ("/static", {"type": "http", "method": "GET", "path": "/static/a", "headers": []}),
    ("/static", http("/static/a\n")),
    ("/static", http("/static/é/%20")),
]


def match_result(route: Any, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`route.matches(scope)` as (Match name, child scope); an endpoint in it must be `route.app`."""
    match, child = route.matches(dict(scope))
    child = dict(child)
    if "endpoint" in child:
        assert child.pop("endpoint") is route.app
    return match.name, child


def mount_result(fw: Any, prefix: str, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return match_result(fw.routing.Mount(prefix, app=app), scope)


@pytest.mark.parametrize(("prefix", "scope"), MOUNT_CASES)
def test_mount_matches_like_starlette(prefix: str, scope: dict[str, Any]) -> None:
    assert mount_result(TACHYON, prefix, scope) == mount_result(STARLETTE, prefix, scope)
    mount = Mount(prefix, app=app)
    mount.matches(dict(scope))
    assert mount._matcher and "path_regex" not in vars(mount)


def host_scope(host: bytes | None, kind: str = "http", **extra: Any) -> dict[str, Any]:
    headers = [(b"accept", b"*/*")] + ([] if host is None else [(b"host", host)])
    return {"type": kind, "method": "GET", "path": "/", "headers": headers, **extra}


HOST_CASES: list[tuple[str, dict[str, Any]]] = [
    ("example.org", host_scope(b"example.org")),
    ("example.org", host_scope(b"EXAMPLE.org:8000")),
    ("example.org", host_scope(b"other.org")),
    ("example.org", host_scope(None)),
    ("example.org", host_scope(b"example.org/evil")),
    ("example.org", host_scope(b"")),
    ("{sub}.example.org", host_scope(b"API.example.org")),
    ("{sub}.example.org", host_scope(b"a.b.example.org")),
    ("{sub}.example.org:9000", host_scope(b"x.example.org:1234")),
    ("{n:int}.example.org", host_scope(b"12.example.org")),
    ("{n:int}.example.org", host_scope(b"ab.example.org")),
    ("[::1]", host_scope(b"[::1]:8000")),
    ("[::1]", host_scope(b"[::g]")),
    ("{sub}.example.org", host_scope(b"api.example.org", "websocket")),
    ("{sub}.example.org", host_scope(b"api.example.org", "lifespan")),
    ("{sub}.example.org", host_scope(b"api.example.org", path_params={"a": 1, "sub": "old"})),
    ("caf\xe9.org", host_scope("CAF\xc9.org".encode("latin-1"))),
]


def host_result(fw: Any, template: str, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return match_result(fw.routing.Host(template, app=app), scope)


@pytest.mark.parametrize(("template", "scope"), HOST_CASES)
def test_host_matches_like_starlette(template: str, scope: dict[str, Any]) -> None:
    assert host_result(TACHYON, template, scope) == host_result(STARLETTE, template, scope)


def test_mount_and_host_read_app_at_call_time_and_step_aside_for_replaced_attributes() -> None:
    mount = Mount("/m", app=app)

    async def other(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    mount.app = other
    assert mount.matches(http("/m/x"))[1]["endpoint"] is other
    mount.path_regex = re.compile("^/n/(?P<path>.*)$")
    assert mount.matches(http("/m/x"))[0].name == "NONE"
    assert mount.matches(http("/n/x"))[1]["root_path"] == "/n"

    host = Host("a.org", app=app)
    host.host_regex = re.compile("^b\\.org$")
    assert host.matches(host_scope(b"a.org"))[0].name == "NONE"
    assert host.matches(host_scope(b"b.org"))[0].name == "FULL"


def test_copies_of_lazily_compiled_routes() -> None:
    route = Route("/a/{x:int}", endpoint)
    clone = copy.deepcopy(route)
    assert clone.matches(http("/a/2"))[1]["path_params"] == {"x": 2}
    assert route.path_regex.match("/a/1")
    clone2 = copy.deepcopy(route)
    assert clone2.matches(http("/a/3"))[1]["path_params"] == {"x": 3}
    mount = copy.deepcopy(Mount("/m", app=app))
    assert mount.matches(http("/m/x"))[0].name == "FULL"


def test_routes_pickle_as_on_starlette() -> None:
    import pickle

    for route in (Mount("/m/{x:int}", app=app), Host("{sub}.example.org", app=app)):
        clone = pickle.loads(pickle.dumps(route))
        assert clone.path == route.path if isinstance(route, Mount) else clone.host == route.host
        assert "regex" not in str(sorted(vars(clone)))
        scope = http("/m/3/x", headers=[(b"host", b"a.example.org")])
        assert clone.matches(dict(scope)) == route.matches(dict(scope))
    mount = Mount("/m", app=app)
    mount.path_regex  # noqa: B018 - compiled, then pickled with the route
    clone = pickle.loads(pickle.dumps(mount))
    assert clone.path_regex.pattern == mount.path_regex.pattern
    assert clone.matches(http("/m/x"))[1]["root_path"] == "/m"


def test_assigning_or_deleting_an_attribute_behaves_as_on_starlette() -> None:
    from tachyon.convertors import Convertor

    class Upper(Convertor[str]):
        regex = "[^/]+"

        def convert(self, value: str) -> str:
            return value.upper()

        def to_string(self, value: str) -> str:
            return value

    for fw in (STARLETTE, TACHYON):
        route = fw.routing.Route("/a/{x}", endpoint)
        route.param_convertors = {"x": Upper()}
        assert route.matches(http("/a/b"))[1]["path_params"] == {"x": "B"}
        assert route.path_format == "/a/{x}"
        del route.path_regex
        with pytest.raises(AttributeError):
            route.path_regex  # noqa: B018
        with pytest.raises(AttributeError):
            del route.path_regex


def test_routers_and_apps_are_freed_without_the_cycle_collector() -> None:
    """A router's `default` and `middleware_stack` are its own bound methods, as on Starlette,
    yet a router (with the routes it holds) and an app are freed as soon as they are dropped."""
    import gc
    import weakref

    from tachyon.applications import TachyonEngine

    gc.collect()
    gc.disable()
    try:
        router = Router(routes=[Route("/a", endpoint)])
        app = TachyonEngine(routes=[Route("/b", endpoint)])
        app.add_route("/c/{id:int}", endpoint)
        refs = [weakref.ref(router), weakref.ref(router.routes[0]), weakref.ref(app), weakref.ref(app.router)]
        refs.append(weakref.ref(app.routes[-1]))
        del router, app
        assert [ref() for ref in refs] == [None] * len(refs)
    finally:
        gc.enable()


def test_router_default_and_middleware_stack_read_as_on_starlette() -> None:
    from tachyon.middleware import Middleware

    for fw in (STARLETTE, TACHYON):
        router = fw.routing.Router()
        assert router.default == router.not_found
        assert router.middleware_stack == router.app
        other = fw.routing.Router(default=endpoint)
        assert other.default is endpoint

        class Wrap:
            def __init__(self, app: Any) -> None:
                self.app = app

        wrapped = fw.routing.Router(middleware=[Middleware(Wrap)])
        assert isinstance(wrapped.middleware_stack, Wrap)
        assert wrapped.middleware_stack.app == wrapped.app

        class Custom(fw.routing.Router):
            async def not_found(self, scope: Any, receive: Any, send: Any) -> None:
                pass

            async def app(self, scope: Any, receive: Any, send: Any) -> None:
                pass

        custom = Custom()
        assert custom.default == custom.not_found
        assert custom.default.__func__ is Custom.not_found
        assert custom.middleware_stack.__func__ is Custom.app
        # Assigned later, as Starlette allows: the instance's own value wins.
        router.default = endpoint
        router.middleware_stack = endpoint
        assert router.default is endpoint
        assert router.middleware_stack is endpoint
    assert TACHYON.routing.Router().can_serve_directly()
    assert not Custom().can_serve_directly()
    replaced = TACHYON.routing.Router()
    replaced.middleware_stack = endpoint
    assert not replaced.can_serve_directly()
