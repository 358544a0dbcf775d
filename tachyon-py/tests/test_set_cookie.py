"""Response.set_cookie renders natively; output and errors must equal Starlette's."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from starlette.responses import Response as StarletteResponse

from tachyon.responses import Response

KEYS = ["a", "sess", "x-y", "ké", "a b", ""]
VALUES = ["", "v", "a b", 'q"x', "é", "a;b", "\\", "x,y", "\x7f"]
OPTIONS: list[dict[str, Any]] = [
    {},
    {"max_age": 10},
    {"max_age": 1.5},
    {"max_age": "7"},
    {"expires": 100},
    {"expires": "Wed, 21 Oct 2015 07:28:00 GMT"},
    {"expires": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)},
    {"path": None},
    {"path": "/a b"},
    {"domain": "ex.com", "secure": True, "httponly": True},
    {"samesite": "strict"},
    {"samesite": "Lax"},
    {"samesite": None},
    {"samesite": "bogus"},
    {"partitioned": True},
]


def outcome(cls: type, key: str, value: str, options: dict[str, Any]) -> tuple[str, Any]:
    response = cls()
    try:
        response.set_cookie(key, value, **options)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", response.raw_headers[-1]


@pytest.mark.parametrize(("key", "value"), list(itertools.product(KEYS, VALUES)))
def test_set_cookie_matches_starlette(key: str, value: str) -> None:
    for options in OPTIONS:
        assert outcome(Response, key, value, options) == outcome(StarletteResponse, key, value, options), options


def test_delete_cookie_matches_starlette() -> None:
    ours, theirs = Response(), StarletteResponse()
    ours.delete_cookie("sid", path="/x", domain="ex.com", secure=True, httponly=True, samesite="none")
    theirs.delete_cookie("sid", path="/x", domain="ex.com", secure=True, httponly=True, samesite="none")
    assert ours.raw_headers == theirs.raw_headers
