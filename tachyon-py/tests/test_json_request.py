"""`request.json()` reads JSON as RFC 8259 has it: no NaN, no infinities, no numbers that
overflow a float. `tachyon.json.loads` stays equal to the stdlib's `json.loads`, which
accepts all of them.

Differential note: Starlette's `request.json()` is `json.loads(body)`, so it returns nan or
inf for these bodies, and an endpoint that echoes them fails in `JSONResponse.render`
(`allow_nan=False`): the client gets a 500. Tachyon answers them with the same 400 as any
other invalid JSON (`test_starlette_answers_the_same_bodies_with_a_500` shows the
difference).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tachyon import JSONResponse, Request, Route, TachyonEngine
from tachyon import json as tjson
from tachyon._tachyon import json_loads_strict
from tachyon.exceptions import HTTPException, JSONBodyDecodeError
from tachyon.testclient import TestClient

# (body, message, position) as request.json() reports them: at the value's first character.
NON_FINITE = [
    (b"NaN", "Expecting value", 0),
    (b"Infinity", "Expecting value", 0),
    (b"-Infinity", "Expecting value", 0),
    (b"1e400", "Number out of range", 0),
    (b"-1E400", "Number out of range", 0),
    (b"[1, 2, NaN]", "Expecting value", 7),
    (b'{"a": {"b": [0.5, Infinity]}}', "Expecting value", 18),
    (b'{"x": -Infinity}', "Expecting value", 6),
    (b'{"big": 1.8e308}', "Number out of range", 8),
    ('{"é": [1e400]}'.encode(), "Number out of range", 7),  # characters, not bytes
]


@pytest.mark.parametrize(("body", "msg", "pos"), NON_FINITE)
def test_strict_loads_rejects_non_finite_numbers_where_they_stand(body: bytes, msg: str, pos: int) -> None:
    for data in (body, bytearray(body), memoryview(body), body.decode()):
        with pytest.raises(json.JSONDecodeError) as info:
            json_loads_strict(data)
        assert (info.value.msg, info.value.pos) == (msg, pos)
        assert info.value.doc == body.decode()
    # tachyon.json.loads is json.loads: it accepts them, as nan and inf.
    want = json.loads(body)
    got = tjson.loads(body)
    assert repr(got) == repr(want)


@pytest.mark.parametrize(
    "body",
    [
        # The stdlib reads these (UTF-16 and UTF-32 bytes, a lone surrogate): still refused.
        "[1, NaN]".encode("utf-16"),
        "[1e400]".encode("utf-32"),
        '["\\ud800", Infinity]'.encode("utf-16-le"),
    ],
)
def test_strict_loads_rejects_non_finite_numbers_in_what_the_stdlib_reads(body: bytes) -> None:
    assert not all(math.isfinite(x) for x in json.loads(body) if isinstance(x, float))
    with pytest.raises(json.JSONDecodeError, match="Number out of range"):
        json_loads_strict(body)


def test_strict_loads_keeps_what_the_stdlib_reads_when_finite() -> None:
    body = '["\ud800", 1.5, {"a": [2]}]'
    assert repr(json_loads_strict(body)) == repr(json.loads(body))
    utf16 = '{"a": [1.5, -2e300]}'.encode("utf-16")
    assert json_loads_strict(utf16) == json.loads(utf16)


@pytest.mark.parametrize(
    "text",
    ["1.7976931348623157e308", "-1.7976931348623157e308", "1e-400", "5e-324", "-0.0", "1e308", "nan_key"],
)
def test_strict_loads_accepts_finite_extremes(text: str) -> None:
    body = f'{{"{text}": {text}}}' if text != "nan_key" else '{"NaN": "Infinity"}'
    assert repr(json_loads_strict(body)) == repr(json.loads(body))


finite_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(finite_json)
def test_strict_loads_equals_json_loads_on_finite_documents(obj: Any) -> None:
    text = json.dumps(obj)
    assert json_loads_strict(text) == json.loads(text)
    assert json_loads_strict(text.encode()) == json.loads(text)


@settings(max_examples=300, deadline=None)
@example("NaN0")
@example("[1e400 x")
@example("[-Infinity]")
@given(st.text(alphabet='[]{},:0123456789.eE+-"aINfinityNa ', max_size=24))
def test_strict_loads_errors_exactly_where_json_loads_errors_or_finds_a_non_finite(text: str) -> None:
    def outcome(fn: Any) -> tuple[str, Any]:
        try:
            return ("ok", repr(fn(text)))
        except json.JSONDecodeError as e:
            return ("raise", (e.msg, e.pos))
        except RecursionError:
            return ("raise", "RecursionError")

    std = outcome(json.loads)
    strict = outcome(json_loads_strict)
    if strict != std:
        # They differ only where json.loads read a nan or an inf: the strict reader stops
        # there (json.loads may have gone on to fail further along, or succeeded).
        assert strict[0] == "raise", (text, std, strict)
        msg, pos = strict[1]
        rest = text[pos:]
        if msg == "Expecting value":
            assert rest.startswith(("NaN", "Infinity", "-Infinity")), (text, std, strict)
        else:
            assert msg == "Number out of range", (text, std, strict)
            number = re.match(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", rest)
            assert number and math.isinf(float(number.group())), (text, std, strict)


async def echo_json(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


client = TestClient(TachyonEngine(routes=[Route("/echo", echo_json, methods=["POST"])]))


@pytest.mark.parametrize(("body", "msg", "pos"), NON_FINITE)
def test_echo_endpoint_answers_non_finite_json_with_a_400(body: bytes, msg: str, pos: int) -> None:
    response = client.post("/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith(f"Invalid JSON body: {msg}")


def test_echo_endpoint_still_echoes_finite_extremes() -> None:
    body = b'{"max": 1.7976931348623157e308, "tiny": 5e-324, "under": 1e-400, "s": "NaN"}'
    response = client.post("/echo", content=body)
    assert response.status_code == 200
    assert response.json() == {"max": 1.7976931348623157e308, "tiny": 5e-324, "under": 0.0, "s": "NaN"}


def test_the_400_is_the_json_decode_error_code_already_catches() -> None:
    # As test_requests.py's test for a syntax error, here for the native parser's own error
    # (a number out of range), with its message and position.
    caught: list[Exception] = []

    async def endpoint(request: Request) -> JSONResponse:
        try:
            await request.json()
        except json.JSONDecodeError as exc:
            caught.append(exc)
            return JSONResponse({"handled": True}, status_code=422)
        return JSONResponse({"handled": False})

    app = TachyonEngine(routes=[Route("/", endpoint, methods=["POST"])])
    response = TestClient(app).post("/", content=b'{"a": 1e400}')
    assert (response.status_code, response.json()) == (422, {"handled": True})
    (exc,) = caught
    assert isinstance(exc, JSONBodyDecodeError) and isinstance(exc, HTTPException)
    assert (exc.status_code, exc.msg, exc.pos) == (400, "Number out of range", 6)


def test_starlette_answers_the_same_bodies_with_a_500() -> None:
    starlette = pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import JSONResponse as StarletteJSONResponse
    from starlette.routing import Route as StarletteRoute
    from starlette.testclient import TestClient as StarletteTestClient

    async def echo(request: StarletteRequest) -> StarletteJSONResponse:
        return StarletteJSONResponse(await request.json())

    app = Starlette(routes=[StarletteRoute("/echo", echo, methods=["POST"])])
    theirs = StarletteTestClient(app, raise_server_exceptions=False)
    assert starlette.__version__
    for body, _, _ in NON_FINITE:
        assert theirs.post("/echo", content=body).status_code == 500, body
        assert client.post("/echo", content=body).status_code == 400, body
