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


ERRORS: list[tuple[str, str, dict[str, Any]]] = [
    ("a b", "v", {}),  # CookieError: Illegal key 'a b'
    ("it's x", "v", {}),  # CookieError, repr with double quotes
    ("Path", "v", {}),  # CookieError: reserved key
    ("k", "v", {"samesite": "bogus", "path": "/a b"}),  # AssertionError
    ("k", "\u0101", {}),  # UnicodeEncodeError, one character
    ("k", "v", {"path": "/\u0101\u0102", "domain": "\U0001f600.example"}),  # two runs
]


@pytest.mark.parametrize(("key", "value", "options"), ERRORS)
def test_native_cookie_errors_reach_the_caller_as_starlettes(key: str, value: str, options: dict[str, Any]) -> None:
    # The native renderer raises these itself (no fallback to http.cookies): same type,
    # same text, same arguments as Starlette's.
    with pytest.raises(Exception) as ours:
        Response().set_cookie(key, value, **options)
    with pytest.raises(Exception) as theirs:
        StarletteResponse().set_cookie(key, value, **options)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
    assert ours.value.args == theirs.value.args
    # Raised by the native renderer, not by the http.cookies fallback.
    assert not any(frame.name == "_simple_cookie" for frame in ours.traceback)


@pytest.mark.parametrize("attribute", ["path", "domain", "expires"])
def test_cookie_attribute_with_crlf_is_refused(attribute: str) -> None:
    # Starlette would send the header with the line break in it (a split response);
    # Tachyon refuses it when it is set, as it refuses CR/LF in other header values.
    with pytest.raises(ValueError, match="CR, LF and NUL are not allowed"):
        Response().set_cookie("k", "v", **{attribute: "x\r\nSet-Cookie: evil=1"})
