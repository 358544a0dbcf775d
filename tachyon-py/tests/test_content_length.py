"""The content-length rule (tachyon-core's `sends_content_length`), as each response applies it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from starlette import responses as starlette

from tachyon import responses
from tachyon._tachyon import content_length_header

STATUSES: list[Any] = [
    0,
    100,
    101,
    199,
    200,
    201,
    204,
    205,
    304,
    404,
    599,
    -1,
    2**70,
    -(2**70),
    True,
    HTTPStatus.NO_CONTENT,
    HTTPStatus.OK,
    204.0,
    199.5,
    250.5,
]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("name", ["Response", "PlainTextResponse", "HTMLResponse", "JSONResponse"])
def test_content_length_matches_starlette(name: str, status: Any) -> None:
    content = {"a": 1} if name == "JSONResponse" else "body"
    ours = getattr(responses, name)(content, status_code=status)
    theirs = getattr(starlette, name)(content, status_code=status)
    assert ours.raw_headers == theirs.raw_headers


def test_content_length_header_pair() -> None:
    assert content_length_header(200, 12) == (b"content-length", b"12")
    assert content_length_header(204, 12) is None
