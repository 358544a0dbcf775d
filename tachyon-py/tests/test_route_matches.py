"""`Route.matches` / `WebSocketRoute.matches` (native, compiled on first use) against
Starlette's, case by case: the Match and the child scope, exactly."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from conftest import STARLETTE, TACHYON


async def endpoint(request: Any) -> None:  # pragma: no cover - never called
    pass


def result(fw: Any, route: Any, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    match, child = route.matches(dict(scope))
    child = dict(child)
    if "endpoint" in child:
        assert child["endpoint"] is route.endpoint
        child["endpoint"] = "<endpoint>"
    return match.name, child


def http(path: str, method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], **extra}


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("/users/{id:int}", {}, http("/users/42")),
    ("/users/{id:int}", {}, http("/users/x")),
    ("/users/{id:int}", {}, http("/users/42", "POST")),
    ("/users/{id:int}", {"methods": ["POST"]}, http("/users/42", "POST")),
    ("/users/{id:int}", {"methods": ["POST"]}, http("/users/42", "HEAD")),
    ("/users/{id:int}", {}, http("/users/42", "HEAD")),
    ("/users/{id:int}", {}, {"type": "websocket", "path": "/users/42", "headers": []}),
    ("/users/{id:int}", {}, {"type": "lifespan"}),
    ("/f/{x:float}/{u:uuid}/{rest:path}", {}, http(f"/f/1.5/{uuid.UUID(int=7)}/a/b/c")),
    ("/f/{x:float}/{u:uuid}/{rest:path}", {}, http("/f/1.5/not-a-uuid/a")),
    ("/s/{name}", {}, http("/s/caf%C3%A9")),
    ("/s/{name}", {}, http("/s/café")),
    ("/s/{name}", {}, http("/s/")),
    ("/s/{name}", {}, http("/s/a/b")),
    ("/app/{name}", {}, http("/root/app/x", root_path="/root")),
    ("/app/{name}", {}, http("/app/x", root_path="/root")),
    ("/app/{name}", {}, http("/rootapp/x", root_path="/root")),
    ("/", {}, http("/root", root_path="/root")),
    ("/inner/{b}", {}, http("/inner/2", path_params={"a": 1, "b": "old"})),
    ("/static", {}, http("/static")),
    ("/static", {}, http("/static/")),
    ("/{a}-{b}", {}, http("/x-y-z")),
    ("/items/{id:int}", {"methods": ["get", "put"]}, http("/items/007", "PUT")),
]


@pytest.mark.parametrize(("template", "options", "scope"), CASES)
def test_route_matches_like_starlette(template: str, options: dict[str, Any], scope: dict[str, Any]) -> None:
    theirs = STARLETTE.routing.Route(template, endpoint, **options)
    ours = TACHYON.routing.Route(template, endpoint, **options)
    assert result(TACHYON, ours, scope) == result(STARLETTE, theirs, scope)
    # The second call goes through the compiled matcher too.
    assert result(TACHYON, ours, scope) == result(STARLETTE, theirs, scope)
    assert ours._matcher


@pytest.mark.parametrize(
    "scope",
    [
        {"type": "websocket", "path": "/ws/7", "headers": []},
        {"type": "websocket", "path": "/ws/x", "headers": []},
        http("/ws/7"),
        {"type": "websocket", "path": "/r/ws/7", "root_path": "/r", "headers": []},
    ],
)
def test_websocket_route_matches_like_starlette(scope: dict[str, Any]) -> None:
    theirs = STARLETTE.routing.WebSocketRoute("/ws/{n:int}", endpoint)
    ours = TACHYON.routing.WebSocketRoute("/ws/{n:int}", endpoint)
    assert result(TACHYON, ours, scope) == result(STARLETTE, theirs, scope)


def test_attributes_are_read_at_call_time() -> None:
    route = TACHYON.routing.Route("/a/{x}", endpoint)
    assert route.matches(http("/a/1"))[0].name == "FULL"
    route.methods = {"POST"}
    assert route.matches(http("/a/1"))[0].name == "PARTIAL"

    async def other(request: Any) -> None:  # pragma: no cover
        pass

    route.endpoint = other
    assert route.matches(http("/a/1", "POST"))[1]["endpoint"] is other


def test_a_replaced_regex_is_used_as_starlette_would() -> None:
    route = TACHYON.routing.Route("/a/{x}", endpoint)
    assert route.matches(http("/a/1"))[0].name == "FULL"
    route.path_regex = re.compile("^/b/(?P<x>[^/]+)$")
    assert route.matches(http("/a/1"))[0].name == "NONE"
    assert route.matches(http("/b/1"))[1]["path_params"] == {"x": "1"}


def test_user_convertors_and_python_only_regexes() -> None:
    from tachyon.convertors import Convertor

    class Upper(Convertor[str]):
        regex = "[A-Z]+"

        def convert(self, value: str) -> str:
            return value.lower()

        def to_string(self, value: str) -> str:
            return value.upper()

    class Lookbehind(Convertor[str]):
        regex = "(?<=/)x+"  # a regex only Python's engine runs

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    route = TACHYON.routing.Route("/u/{name}", endpoint)
    route.param_convertors = {"name": Upper()}
    route.path_regex = re.compile("^/u/(?P<name>[A-Z]+)$")
    assert route.matches(http("/u/ABC"))[1]["path_params"] == {"name": "abc"}

    from tachyon.convertors import CONVERTOR_TYPES

    CONVERTOR_TYPES["upper_t"] = Upper()
    CONVERTOR_TYPES["look_t"] = Lookbehind()
    try:
        upper = TACHYON.routing.Route("/v/{name:upper_t}", endpoint)
        assert upper.matches(http("/v/ABC"))[1]["path_params"] == {"name": "abc"}
        assert upper.matches(http("/v/abc"))[0].name == "NONE"
        assert upper._matcher
        look = TACHYON.routing.Route("/w/{name:look_t}", endpoint)
        assert look.matches(http("/w/xx"))[1]["path_params"] == {"name": "xx"}
        assert look._matcher is False
    finally:
        del CONVERTOR_TYPES["upper_t"], CONVERTOR_TYPES["look_t"]


def test_an_unconvertible_int_is_a_404() -> None:
    route = TACHYON.routing.Route("/n/{n:int}", endpoint)
    with pytest.raises(TACHYON.exceptions.HTTPException) as info:
        route.matches(http("/n/" + "9" * 5000))
    assert info.value.status_code == 404


def test_routes_and_routers_deep_copy_after_use_as_on_starlette() -> None:
    import copy

    for fw in (STARLETTE, TACHYON):
        route = fw.routing.Route("/a/{x:int}", endpoint)
        router = fw.routing.Router([route])
        route.matches(http("/a/1"))
        if fw is TACHYON:
            router.native_table()
        route_copy = copy.deepcopy(route)
        assert route_copy.matches(http("/a/2"))[1]["path_params"] == {"x": 2}
        assert copy.copy(route).matches(http("/a/3"))[0].name == "FULL"
        assert len(copy.deepcopy(router).routes) == 1


def test_matches_as_a_method_descriptor_answers_every_call_form_as_starlette() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    scope = http("/users/42")
    for fw in (STARLETTE, TACHYON):
        route = fw.routing.Route("/users/{id:int}", endpoint)
        assert fw.routing.Route.matches(route, dict(scope))[0].name == "FULL"
        assert route.matches(scope=dict(scope))[1]["path_params"] == {"id": 42}
        with pytest.raises(TypeError, match=r"Route.matches\(\) missing 1 required positional argument: 'scope'"):
            route.matches()
        with pytest.raises(TypeError):
            route.matches(dict(scope), dict(scope))
        mount = fw.routing.Mount("/static", app=app)
        assert mount.matches(scope=http("/static/a"))[1]["root_path"] == "/static"
        host = fw.routing.Host("{sub}.example.org", app=app)
        assert host.matches(scope=http("/", headers=[(b"host", b"a.example.org")]))[1]["path_params"] == {"sub": "a"}
    assert TACHYON.routing.Route.matches.__name__ == "matches"
    assert TACHYON.routing.Route.matches.__qualname__ == "Route.matches"


def test_matches_of_subclasses_that_skip_init_or_call_super() -> None:
    """FastAPI's APIRoute builds itself without Route.__init__ and calls super().matches."""

    def build(fw: Any) -> Any:
        class APIRoute(fw.routing.Route):
            def __init__(self, path: str, endpoint: Any) -> None:
                self.path = path
                self.endpoint = endpoint
                self.methods = {"GET"}
                self.path_regex, self.path_format, self.param_convertors = fw.routing.compile_path(path)

            def matches(self, scope: Any) -> Any:
                match, child = super().matches(scope)
                if match.name != "NONE":
                    child["route"] = "api"
                return match, child

        class Plain(fw.routing.Route):
            def __init__(self, path: str, endpoint: Any) -> None:
                self.path = path
                self.endpoint = endpoint
                self.methods = None
                self.path_regex, self.path_format, self.param_convertors = fw.routing.compile_path(path)

        return APIRoute("/items/{id:int}", endpoint), Plain("/p/{name}", endpoint)

    theirs, ours = build(STARLETTE), build(TACHYON)
    for scope in (http("/items/3"), http("/items/3", "POST"), http("/items/x"), http("/p/a"), {"type": "lifespan"}):
        for _ in range(2):  # the second call through the matcher compiled on the first
            for mine, other in zip(ours, theirs, strict=True):
                assert result(TACHYON, mine, scope) == result(STARLETTE, other, scope)
    plain = ours[1]
    plain.path_regex = re.compile("^/q/(?P<name>[^/]+)$")
    assert plain.matches(http("/p/a"))[0].name == "NONE"
    assert plain.matches(http("/q/a"))[1]["path_params"] == {"name": "a"}
