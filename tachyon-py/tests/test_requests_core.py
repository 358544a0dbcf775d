"""Request surface backed by tachyon-core (cookies, query params, headers) and the native
Set-Cookie renderer, compared with Starlette on generated inputs."""

from __future__ import annotations

import http.cookies
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.requests import Request as StarletteRequest
from starlette.requests import cookie_parser as starlette_cookie_parser
from starlette.responses import Response as StarletteResponse

from tachyon._tachyon import render_set_cookie
from tachyon.requests import Request as TachyonRequest
from tachyon.requests import cookie_parser

COOKIE_PIECES = ["a", "b=", "=", ";", " ", '"', "\\", "\\073", "\\0", "\\x", "é", "\t", "\x1c", "\u2003", "k=v", "=v"]
cookie_text = st.lists(st.sampled_from(COOKIE_PIECES), max_size=16).map("".join)


def outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - comparing whatever both sides raise
        return type(exc)


@given(cookie_text | st.text(max_size=20))
@example('a=1; b="x\\073y"; a=2; lone; "quoted"; c="\\"q\\""')
@example("a=\ud800")
def test_cookie_parser(text: str) -> None:
    ours, theirs = cookie_parser(text), starlette_cookie_parser(text)
    assert ours == theirs
    assert list(ours) == list(theirs)


def request_scope(headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": headers}


@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"cookie", b"Cookie", b"x-other"]),
            cookie_text.map(lambda s: s.encode("utf-8").decode("latin-1").encode("latin-1")),
        ),
        max_size=4,
    ),
    st.binary(max_size=30),
)
def test_request_cookies_query_and_headers(headers: list[tuple[bytes, bytes]], query: bytes) -> None:
    ours = TachyonRequest(request_scope(list(headers), query))
    theirs = StarletteRequest(request_scope(list(headers), query))
    assert ours.cookies == theirs.cookies
    assert list(ours.cookies) == list(theirs.cookies)
    assert ours.query_params.multi_items() == theirs.query_params.multi_items()
    assert ours.headers.getlist("cookie") == theirs.headers.getlist("cookie")
    assert ours.headers.get("Cookie") == theirs.headers.get("Cookie")


def test_request_is_lazy_and_caches() -> None:
    scope = request_scope([(b"cookie", b"a=1")], b"x=1")
    request = TachyonRequest(scope)
    assert request.cookies is request.cookies
    assert request.query_params is request.query_params
    assert request.headers is request.headers


def native_set_cookie(
    key: Any,
    value: Any = "",
    max_age: Any = None,
    expires: Any = None,
    path: Any = "/",
    domain: Any = None,
    secure: Any = False,
    httponly: Any = False,
    samesite: Any = "lax",
    partitioned: Any = False,
) -> str | None:
    """The native renderer with Starlette's defaults (it takes every argument)."""
    return render_set_cookie(key, value, max_age, expires, path, domain, secure, httponly, samesite, partitioned)


def starlette_set_cookie(*args: Any, **kwargs: Any) -> str:
    response = StarletteResponse()
    response.set_cookie(*args, **kwargs)
    return response.raw_headers[-1][1].decode("latin-1")


@given(
    st.sampled_from(["session", "a", "k-1", "bad key", "path", "Expires", "é", ""]),
    st.text(max_size=8),
    st.none() | st.integers(min_value=-(10**6), max_value=10**9),
    st.none()
    | st.integers(min_value=-(10**6), max_value=10**8)
    | st.sampled_from(["", "Thu, 01 Jan 2099 00:00:00 GMT"]),
    st.none() | st.sampled_from(["/", "", "/a b", "/é"]),
    st.none() | st.sampled_from(["example.com", "", ".x.org"]),
    st.booleans(),
    st.booleans(),
    st.none() | st.sampled_from(["lax", "Strict", "none", "bogus"]),
)
def test_render_set_cookie(
    key: str,
    value: str,
    max_age: int | None,
    expires: int | str | None,
    path: str | None,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
) -> None:
    args = (key, value, max_age, expires, path, domain, secure, httponly, samesite)
    theirs, ours = outcome(starlette_set_cookie, *args), outcome(native_set_cookie, *args)
    if isinstance(expires, int) and isinstance(theirs, str) and isinstance(ours, str):
        # Both read the clock for an int `expires`: compare the dates apart, to the second.
        date = re.compile(r"expires=([^;]*)")
        their_date, our_date = (parsedate_to_datetime(date.search(x)[1]) for x in (theirs, ours))  # type: ignore[index]
        assert abs((their_date - our_date).total_seconds()) <= 1
        theirs, ours = date.sub("", theirs), date.sub("", ours)
    if theirs is http.cookies.CookieError:
        assert ours is http.cookies.CookieError
    elif isinstance(theirs, type):
        assert isinstance(ours, type) and issubclass(ours, theirs) or ours is theirs
    else:
        assert ours == theirs


def test_render_set_cookie_datetime_via_format_datetime() -> None:
    when = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    text = format_datetime(when, usegmt=True)
    assert native_set_cookie("a", "1", expires=text) == starlette_set_cookie("a", "1", expires=when)


@pytest.mark.parametrize(
    "bad",
    [
        {"max_age": 1.5},
        {"expires": 1.5},
        {"max_age": "10"},
        {"key": 1},
        {"value": None},
        {"path": b"/"},
        {"samesite": 1},
        {"partitioned": True},
    ],
)
def test_render_set_cookie_leaves_unusual_types_to_http_cookies(bad: dict[str, Any]) -> None:
    assert native_set_cookie(**{"key": "a", "value": "1"} | bad) is None


def test_form_without_content_type_is_empty_and_closes() -> None:
    import anyio

    async def run() -> None:
        request = TachyonRequest(request_scope([]))
        form = await request.form()
        assert len(form) == 0 and repr(form) == "FormData([])"
        await request.close()

    anyio.run(run)
