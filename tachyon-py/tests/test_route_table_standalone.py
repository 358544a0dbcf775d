"""The compiled route table answering a request alone (`RouteTable.route`, what the fused
dispatcher calls): it answers only while its route list is unchanged, and a change made any
way a list can be changed is served as Starlette serves it."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import STARLETTE, TACHYON

from tachyon.routing import Route, RouteList, Router


async def _endpoint(request: Any) -> Any:  # pragma: no cover - never called
    raise AssertionError


def http_scope(path: str, method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], **extra}


def named(fw: SimpleNamespace, name: str, template: str) -> Any:
    async def endpoint(request: Any) -> Any:
        return fw.responses.PlainTextResponse(f"{name} {dict(request.path_params)}")

    return fw.routing.Route(template, endpoint, name=name)


# Each change to the app's route list, as a function of (routes, fw).
CHANGES: dict[str, Callable[[list[Any], SimpleNamespace], Any]] = {
    "append": lambda routes, fw: routes.append(named(fw, "new", "/a/{id:int}")),
    "extend": lambda routes, fw: routes.extend([named(fw, "new", "/a/{id:int}")]),
    "insert": lambda routes, fw: routes.insert(0, named(fw, "new", "/a/{id:int}")),
    "remove": lambda routes, fw: routes.remove(routes[0]),
    "pop": lambda routes, fw: routes.pop(0),
    "clear": lambda routes, fw: routes.clear(),
    "sort": lambda routes, fw: routes.sort(key=lambda route: route.name),
    "reverse": lambda routes, fw: routes.reverse(),
    "setitem": lambda routes, fw: routes.__setitem__(0, named(fw, "new", "/a/{id:int}")),
    "setslice": lambda routes, fw: routes.__setitem__(slice(0, 1), [named(fw, "new", "/a/{id}")]),
    "delitem": lambda routes, fw: routes.__delitem__(0),
    "iadd": lambda routes, fw: routes.__iadd__([named(fw, "new", "/a/{id:int}")]),
    "imul": lambda routes, fw: routes.__imul__(0),
}


def build(fw: SimpleNamespace) -> Any:
    # "/a/{id:int}" comes first, so "b" (a sort by name keeps the order) and every change is seen.
    return fw.applications.Starlette(routes=[named(fw, "b", "/a/{id:int}"), named(fw, "c", "/a/{id}")])


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_route_list_is_served_as_starlette_serves_it(change: str, both: Callable[..., Any]) -> None:
    apps: dict[str, Any] = {}

    def keep(fw: SimpleNamespace) -> Any:
        apps[fw.name] = build(fw)
        return apps[fw.name]

    request = both(keep)
    assert request("GET", "/a/1").text == "b {'id': 1}"
    table = apps["tachyon"].router._table
    assert table.standalone
    for fw in (STARLETTE, TACHYON):
        CHANGES[change](apps[fw.name].router.routes, fw)
    # The table compiled before the change stepped aside; the router compiled a new one.
    assert not table.standalone
    assert table.route(http_scope("/a/1")) is NotImplemented
    for path in ("/a/1", "/a/x", "/b"):
        request("GET", path)
    assert apps["tachyon"].router._table is not table
    # (A table with no routes has nothing to answer: the Python path answers the 404.)
    assert apps["tachyon"].router._table.standalone == bool(apps["tachyon"].router.routes)


def test_routers_sharing_one_route_list_both_see_a_change() -> None:
    first = Router(routes=[Route("/a", _endpoint)])
    second = Router()
    second.routes = first.routes
    tables = [first.native_table(), second.native_table()]
    assert all(table.standalone for table in tables)
    first.routes.append(Route("/b", _endpoint))
    assert not any(table.standalone for table in tables)
    for router in (first, second):
        scope = http_scope("/b")
        assert router.resolve(scope) is not None
        assert scope["route"] is first.routes[1]


def test_a_copy_of_a_route_list_is_not_watched_by_the_originals_table() -> None:
    router = Router(routes=[Route("/a", _endpoint)])
    table = router.native_table()
    for duplicate in (copy.copy(router.routes), copy.deepcopy(router.routes)):
        assert type(duplicate) is RouteList
        assert [route.path for route in duplicate] == ["/a"]
        duplicate.append(Route("/b", _endpoint))
    # The copies were built and changed; the original list was not, so its table still answers.
    assert table.standalone
    found = table.route(http_scope("/a"))
    assert found is not NotImplemented and found[0] is router.routes[0]
    router.routes.pop()
    assert not table.standalone


def test_a_watched_route_list_pickles_without_its_tables() -> None:
    watched = RouteList(["/a"])
    table = Router(routes=[Route("/a", _endpoint)]).native_table()
    watched._watch(table)
    restored = pickle.loads(pickle.dumps(watched))
    assert restored == ["/a"] and type(restored) is RouteList
    restored.append("/b")
    assert table.standalone
    watched.append("/b")
    assert not table.standalone


def test_a_table_for_a_list_that_is_not_a_route_list_never_answers_alone() -> None:
    class Counted(list):  # type: ignore[type-arg]
        """A list with a version that no change bumps: no table may answer for it alone."""

        version = 0

    router = Router(routes=[Route("/a", _endpoint)])
    router._routes = Counted(router._routes)  # type: ignore[assignment]
    table = router.native_table()
    assert not table.standalone
    assert table.route(http_scope("/a")) is NotImplemented


def test_route_takes_one_dict() -> None:
    table = Router(routes=[Route("/a/{id:int}", _endpoint)]).native_table()
    with pytest.raises(TypeError):
        table.route()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        table.route(http_scope("/a/1"), None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        table.route(scope=http_scope("/a/1"))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        table.route([("type", "http")])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        type(table).route(object(), http_scope("/a/1"))  # type: ignore[arg-type]
    assert table.route.__doc__ and "Router.resolve(scope)" in table.route.__doc__


@pytest.mark.parametrize(
    "inherited",
    [{"x": 1}, {"id": "old", "x": 1}, [("x", 1)], (("id", 0),), {}],
    ids=["dict", "overridden", "pairs", "tuple-pairs", "empty"],
)
def test_inherited_path_params_merge_as_starlettes_dict_of_them(inherited: Any) -> None:
    """Starlette's child `path_params` is `dict(scope.get("path_params", {}))` updated with the
    match: any value `dict()` takes, the route's params last."""
    ours = Router(routes=[Route("/a/{id:int}", _endpoint)]).native_table()
    theirs = STARLETTE.routing.Route("/a/{id:int}", _endpoint)
    scope = http_scope("/a/7", path_params=inherited)
    expected = theirs.matches(dict(scope))[1]["path_params"]
    found = ours.route(scope)
    assert found is not NotImplemented and found[1] is True
    assert scope["path_params"] == expected and list(scope["path_params"]) == list(expected)
    assert scope["path_params"] is not inherited


def test_non_ascii_paths_route_as_starlettes() -> None:
    ours = Router(routes=[Route("/é/{name}", _endpoint)]).native_table()
    theirs = STARLETTE.routing.Route("/é/{name}", _endpoint)
    for path in ("/é/ü", "/é/😀", "/e/ü"):
        scope = http_scope(path)
        match, child = theirs.matches(dict(scope))
        found = ours.route(scope)
        assert (found is not None) == (match is STARLETTE.routing.Match.FULL)
        if found is not None:
            assert scope["path_params"] == child["path_params"]
