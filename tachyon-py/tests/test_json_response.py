"""JSONResponse's construction (native `__init__`) against Starlette's, attribute for attribute.

The common case `JSONResponse(content)` runs in native code; every other combination
(headers, media_type, subclasses, keyword arguments, odd status codes) must still build
exactly what Starlette's JSONResponse builds.
"""

from __future__ import annotations

import inspect
import math
from http import HTTPStatus
from typing import Any

import pytest
from conftest import STARLETTE, TACHYON

CONTENT: list[Any] = [{"message": "Hello, World!"}, [1, 2.5, None, True], "café", 0, None, {"nested": {"a": [1]}}]


def state(response: Any) -> tuple[Any, ...]:
    return (response.status_code, response.body, list(response.raw_headers), response.background, response.media_type)


@pytest.mark.parametrize("content", CONTENT)
@pytest.mark.parametrize("status_code", [None, 100, 199, 200, 201, 204, 304, 404, HTTPStatus.CREATED])
def test_positional_and_keyword_construction(content: Any, status_code: int | None) -> None:
    for call in (
        lambda fw: fw.responses.JSONResponse(content) if status_code is None else None,
        lambda fw: fw.responses.JSONResponse(content, status_code or 200),
        lambda fw: fw.responses.JSONResponse(content=content, status_code=status_code or 200),
        lambda fw: fw.responses.JSONResponse(content, status_code or 200, None, None, None),
    ):
        expected, got = call(STARLETTE), call(TACHYON)
        if expected is None:
            continue
        assert state(got) == state(expected)
        assert list(vars(got)) == list(vars(expected))
        assert type(got.status_code) is type(expected.status_code)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"headers": {"X-Id": "1", "Content-Type": "text/json"}},
        {"headers": {}},
        {"media_type": "application/vnd.api+json"},
        {"headers": {"content-length": "99"}, "status_code": 202},
        {"status_code": 204, "headers": {"x": "y"}},
    ],
)
def test_headers_and_media_type_take_the_general_path(kwargs: dict[str, Any]) -> None:
    expected = STARLETTE.responses.JSONResponse({"a": 1}, **kwargs)
    got = TACHYON.responses.JSONResponse({"a": 1}, **kwargs)
    assert state(got) == state(expected)


def test_background_is_kept() -> None:
    task = TACHYON.background.BackgroundTask(print, "x")
    assert TACHYON.responses.JSONResponse([1], background=task).background is task


def test_subclasses() -> None:
    for fw in (STARLETTE, TACHYON):

        class Pretty(fw.responses.JSONResponse):  # type: ignore[name-defined,misc]
            def render(self, content: Any) -> bytes:
                return b"<" + super().render(content) + b">"

        class Created(fw.responses.JSONResponse):  # type: ignore[name-defined,misc]
            def __init__(self, content: Any) -> None:
                super().__init__(content, status_code=201, headers={"Location": "/x"})

        class Plain(fw.responses.JSONResponse):  # type: ignore[name-defined,misc]
            pass

        fw.made = [state(Pretty({"a": 1})), state(Created([1])), state(Plain("x"))]
    assert TACHYON.made == STARLETTE.made  # type: ignore[attr-defined]


def test_explicit_init_call_and_signature() -> None:
    response = TACHYON.responses.JSONResponse.__new__(TACHYON.responses.JSONResponse)
    TACHYON.responses.JSONResponse.__init__(response, [3], 202)
    expected = STARLETTE.responses.JSONResponse([3], 202)
    assert state(response) == state(expected)
    sig = inspect.signature(TACHYON.responses.JSONResponse)
    assert list(sig.parameters) == list(inspect.signature(STARLETTE.responses.JSONResponse).parameters)
    assert sig.parameters["status_code"].default == 200


def test_signatures_of_subclasses() -> None:
    # Python 3.13's inspect binds a class's __init__ descriptor to the class; the native
    # one refuses that, so JSONResponse reports its signature itself (and only its own).
    signatures = []
    for fw in (STARLETTE, TACHYON):

        class Plain(fw.responses.JSONResponse):  # type: ignore[name-defined,misc]
            pass

        class Created(fw.responses.JSONResponse):  # type: ignore[name-defined,misc]
            def __init__(self, content: Any, location: str = "/x") -> None:
                super().__init__(content, status_code=201, headers={"Location": location})

        signatures.append([str(inspect.signature(c)) for c in (fw.responses.JSONResponse, Plain, Created)])
    assert signatures[0] == signatures[1]
    bound = [inspect.signature(fw.responses.JSONResponse([1]).__init__) for fw in (STARLETTE, TACHYON)]
    assert list(bound[0].parameters) == list(bound[1].parameters)


@pytest.mark.parametrize(
    ("content", "error"),
    [({"x": math.nan}, ValueError), ({"x": object()}, TypeError), ("\ud800", UnicodeEncodeError)],
)
def test_errors_match(content: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        STARLETTE.responses.JSONResponse(content)
    with pytest.raises(error):
        TACHYON.responses.JSONResponse(content)


def test_bad_arguments_raise_type_error() -> None:
    with pytest.raises(TypeError):
        TACHYON.responses.JSONResponse()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        TACHYON.responses.JSONResponse([1], nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        TACHYON.responses.JSONResponse([1], "200")  # type: ignore[arg-type]
