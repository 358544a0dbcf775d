"""Routes whose `matches()` override only narrows the base match (`narrows_match`).

They stay in the native table, the override runs for the winner only, and the answers are
Starlette's, which runs every override in order: compared byte for byte.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tachyon.routing import Route, Router, narrows_match


def build(fw: SimpleNamespace, declared: bool = True) -> Any:
    Match = fw.routing.Match
    JSONResponse = fw.responses.JSONResponse
    mark = narrows_match if fw.name == "tachyon" and declared else (lambda f: f)

    class BetaRoute(fw.routing.Route):
        @mark
        def matches(self, scope: Any) -> Any:
            match, child = super().matches(scope)
            if match is Match.NONE:
                return match, child
            if (b"x-beta", b"1") not in scope["headers"]:
                return Match.NONE, {}
            if (b"x-readonly", b"1") in scope["headers"] and match is Match.FULL:
                match = Match.PARTIAL
            child["route_flag"] = "beta"
            return match, child

    async def endpoint(request: Any) -> Any:
        route = request.scope.get("route")
        return JSONResponse(
            {
                "route": getattr(route, "name", None),
                "flag": request.scope.get("route_flag"),
                "params": request.path_params,
            }
        )

    routes = [BetaRoute("/items/{id:int}", endpoint, name="beta", methods=["GET", "POST"])]
    routes += [fw.routing.Route(f"/filler{i}/{{x}}", endpoint, name=f"filler{i}") for i in range(50)]
    routes += [
        fw.routing.Route("/items/{id:int}", endpoint, name="plain"),
        BetaRoute("/only-beta/", endpoint, name="only-beta"),
        BetaRoute("/last/{name}", endpoint, name="last-beta"),
    ]
    return fw.applications.Starlette(routes=routes)


CASES = [
    ("GET", "/items/3", {}),
    ("GET", "/items/3", {"headers": {"X-Beta": "1"}}),
    ("POST", "/items/3", {"headers": {"X-Beta": "1"}}),
    ("POST", "/items/3", {}),  # the override declines; the plain route answers 405
    ("GET", "/items/3", {"headers": {"X-Beta": "1", "X-Readonly": "1"}}),  # narrowed to PARTIAL
    ("GET", "/only-beta", {"headers": {"X-Beta": "1"}, "follow_redirects": False}),  # redirect
    ("GET", "/only-beta", {"follow_redirects": False}),  # the only candidate declines: 404
    ("GET", "/last/z", {"headers": {"X-Beta": "1"}}),
    ("GET", "/last/z", {}),
    ("GET", "/filler7/q", {}),
    ("GET", "/nowhere", {}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), CASES)
def test_narrowed_routes_answer_as_on_starlette(both: Any, method: str, url: str, kwargs: dict[str, Any]) -> None:
    both(build)(method, url, **kwargs)


@pytest.mark.parametrize(("method", "url", "kwargs"), CASES)
def test_undeclared_overrides_answer_as_on_starlette(both: Any, method: str, url: str, kwargs: dict[str, Any]) -> None:
    both(lambda fw: build(fw, declared=False))(method, url, **kwargs)


def test_declared_routes_stay_in_the_native_table() -> None:
    from conftest import TACHYON

    router = build(TACHYON).router
    table = router.native_table()
    assert table.opaque == []
    assert router._narrowed == frozenset({0, 52, 53})
    undeclared = build(TACHYON, declared=False).router
    assert undeclared.native_table().opaque == [0, 52, 53]


def test_the_override_runs_only_for_the_winner() -> None:
    calls: list[str] = []

    class Counted(Route):
        @narrows_match
        def matches(self, scope: Any) -> Any:
            calls.append(self.path)
            return super().matches(scope)

    router = Router([Counted(f"/r{i}", lambda request: None) for i in range(100)])
    scope = {"type": "http", "method": "GET", "path": "/r99", "root_path": "", "headers": []}
    route, child, full = router.match_route(scope)
    assert full and route is router.routes[99]
    assert calls == ["/r99"]
    assert child["path_params"] == {}


def test_an_undeclared_override_below_a_declared_one_is_not_trusted() -> None:
    class Declared(Route):
        @narrows_match
        def matches(self, scope: Any) -> Any:
            return super().matches(scope)

    class Widening(Declared):
        def matches(self, scope: Any) -> Any:  # not declared: may do anything
            return super().matches(scope)

    router = Router([Widening("/a", lambda request: None), Declared("/b", lambda request: None)])
    assert router.native_table().opaque == [0]
    assert router._narrowed == frozenset({1})
