"""status: the same constants as Starlette 1.10, and its deprecated aliases warn the same way."""

from __future__ import annotations

import pytest
from conftest import STARLETTE, TACHYON

from tachyon.exceptions import StarletteDeprecationWarning

DEPRECATED = {
    "HTTP_413_REQUEST_ENTITY_TOO_LARGE": "HTTP_413_CONTENT_TOO_LARGE",
    "HTTP_414_REQUEST_URI_TOO_LONG": "HTTP_414_URI_TOO_LONG",
    "HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE": "HTTP_416_RANGE_NOT_SATISFIABLE",
    "HTTP_422_UNPROCESSABLE_ENTITY": "HTTP_422_UNPROCESSABLE_CONTENT",
}


def test_same_public_constants() -> None:
    assert sorted(TACHYON.status.__all__) == sorted(STARLETTE.status.__all__)
    for name in STARLETTE.status.__all__:
        assert getattr(TACHYON.status, name) == getattr(STARLETTE.status, name)


@pytest.mark.parametrize("name", sorted(DEPRECATED))
def test_deprecated_alias_warns_once_and_returns_the_code(name: str) -> None:
    # Regression: these were plain module constants, so reading them gave no warning
    # (tests/test_status.py::test_deprecated_types in Starlette's suite).
    with pytest.warns(StarletteDeprecationWarning) as record:
        value = getattr(TACHYON.status, name)
    with pytest.warns(STARLETTE.exceptions.StarletteDeprecationWarning) as theirs:
        getattr(STARLETTE.status, name)
    assert (record.list[0].filename, record.list[0].lineno) == (theirs.list[0].filename, theirs.list[0].lineno)
    assert len(record) == 1
    assert str(record.list[0].message) == f"'{name}' is deprecated. Use '{DEPRECATED[name]}' instead."
    assert value == getattr(TACHYON.status, DEPRECATED[name])
    assert name not in TACHYON.status.__all__
    assert name in dir(TACHYON.status)


def test_deprecated_alias_from_import_warns() -> None:
    with pytest.warns(StarletteDeprecationWarning, match="HTTP_422_UNPROCESSABLE_CONTENT"):
        from tachyon.status import HTTP_422_UNPROCESSABLE_ENTITY  # noqa: F401


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'tachyon.status' has no attribute 'HTTP_999_UNKNOWN'"):
        TACHYON.status.HTTP_999_UNKNOWN  # noqa: B018
