"""SessionMiddleware against Starlette, with the signer's clock frozen so cookies are
byte-identical too."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import itsdangerous
import pytest

NOW = 1_700_000_000


@pytest.fixture(autouse=True)
def frozen_signer_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: NOW)


def session_app(fw: SimpleNamespace, **options: Any) -> Any:
    sessions = importlib.import_module(f"{fw.name}.middleware.sessions")
    JSONResponse = fw.responses.JSONResponse

    async def view(request: Any) -> Any:
        return JSONResponse({"session": request.session})

    async def update(request: Any) -> Any:
        request.session.update(await request.json())
        return JSONResponse({"session": request.session})

    async def clear(request: Any) -> Any:
        request.session.clear()
        return JSONResponse({"session": request.session})

    async def untouched(request: Any) -> Any:
        return JSONResponse({"ok": True}, headers={"Vary": "Accept"})

    async def pop(request: Any) -> Any:
        request.session.pop("missing", None)
        return JSONResponse({"popped": request.session.pop("a", None)})

    Route = fw.routing.Route
    return fw.applications.Starlette(
        routes=[
            Route("/view", view),
            Route("/update", update, methods=["POST"]),
            Route("/clear", clear, methods=["POST"]),
            Route("/untouched", untouched),
            Route("/pop", pop, methods=["POST"]),
        ],
        middleware=[fw.middleware.Middleware(sessions.SessionMiddleware, secret_key="example", **options)],
    )


OPTIONS: list[dict[str, Any]] = [
    {},
    {"max_age": None},
    {"https_only": True, "same_site": "strict"},
    {"domain": "example.com", "path": "/app", "session_cookie": "sid"},
    {"same_site": "none", "partitioned": True, "max_age": 60},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_session_flow_matches_starlette(both: Any, options: dict[str, Any]) -> None:
    request = both(lambda fw: session_app(fw, **options), base_url="https://testserver")
    request("GET", "/view")
    request("GET", "/untouched")
    request("POST", "/update", json={"a": 1, "b": "ü"})
    request("GET", "/view")
    request("POST", "/pop")
    request("POST", "/update", json={"c": [1, 2]})
    request("POST", "/clear")
    request("GET", "/view")
    request("POST", "/clear")


def test_session_cookie_round_trips_across_frameworks() -> None:
    from conftest import STARLETTE, TACHYON

    theirs = STARLETTE.testclient.TestClient(session_app(STARLETTE))
    ours = TACHYON.testclient.TestClient(session_app(TACHYON))
    theirs.post("/update", json={"user": "ann"})
    cookie = theirs.cookies["session"]
    assert ours.get("/view", headers={"cookie": f"session={cookie}"}).json() == {"session": {"user": "ann"}}


@pytest.mark.parametrize(
    "cookie",
    [
        "not-signed",
        "eyJhIjogMX0=.ZVPxAA.invalidsignature",
    ],
)
def test_bad_cookie_starts_empty(both: Any, cookie: str) -> None:
    request = both(session_app)
    assert request("GET", "/view", headers={"cookie": f"session={cookie}"}).json() == {"session": {}}
    request("POST", "/clear", headers={"cookie": f"session={cookie}"})


def test_expired_cookie_starts_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import TACHYON

    client = TACHYON.testclient.TestClient(session_app(TACHYON, max_age=10))
    client.post("/update", json={"a": 1})
    assert client.get("/view").json() == {"session": {"a": 1}}
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: NOW + 11)
    assert client.get("/view").json() == {"session": {}}


def test_session_dict_tracks_changes() -> None:
    from tachyon.middleware.sessions import Session

    session = Session({"a": 1})
    assert not session.accessed and not session.modified
    session.mark_accessed()
    assert session.accessed and not session.modified
    for change in (
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.setdefault("z", 0),
        lambda s: s.popitem(),
        lambda s: s.__ior__({"q": 1}),
        lambda s: s.update(x=1),
        lambda s: s.clear(),
    ):
        fresh = Session({"a": 1})
        change(fresh)
        assert fresh.modified and fresh.accessed
    unchanged = Session({"a": 1})
    unchanged.pop("missing", None)
    unchanged.setdefault("a", 5)
    assert not unchanged.modified
