"""Range headers: the Rust parser (`tachyon_core::range`, through `FileResponse._parse_range_header`)
against Starlette 1.10's own `FileResponse._parse_range_header`, on listed and generated headers,
and the Python fallback for what Python's `int()` / `strip()` read beyond ASCII digits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import starlette.responses
from conftest import STARLETTE, TACHYON
from hypothesis import given, settings
from hypothesis import strategies as st

from tachyon import _tachyon
from tachyon.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable


def outcome(cls: Any, header: str, size: int) -> tuple[str, Any]:
    """What `_parse_range_header` decides, comparable across the two frameworks."""
    try:
        return ("ranges", cls._parse_range_header(header, size))
    except Exception as exc:  # noqa: BLE001 - the exception class is what is compared
        detail = getattr(exc, "content", None) or getattr(exc, "max_size", None)
        return (type(exc).__name__, detail)


def same(header: str, size: int) -> tuple[str, Any]:
    theirs = outcome(starlette.responses.FileResponse, header, size)
    ours = outcome(FileResponse, header, size)
    assert ours == theirs, (header, size)
    return ours


LISTED = [
    "bytes=0-0",
    "bytes=0-99",
    "bytes=0-1000",
    "bytes=10-",
    "bytes=-1",
    "bytes=-0",
    "bytes=-1000",
    " BYTES \t= 1 - 2 ",
    "bytes=\x1c1-2\x1f",
    "",
    "bytes",
    "items=0-1",
    "bytes=x",
    "bytes=",
    "bytes=-",
    "bytes=,,",
    "bytes=100-",
    "bytes=9-5",
    "bytes=9-5,200-",
    "bytes=20-29,0-4,3-6",
    "bytes=0-4,6-9",
    "bytes=0-4,5-9",
    "bytes=0-9,0-9,0-9",
    "bytes=-10,0-,x,5",
    "bytes=" + ",".join(["0-1"] * 100),
    "bytes=" + ",".join(["0-1"] * 101),
    "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 200, 2)),
    # What Python's int() and strip() read beyond ASCII digits: the fallback decides.
    "bytes=+5-",
    "bytes=1_0-20",
    "bytes=١٢-",
    "bytes=0-١٢",
    "bytes\xa0=0-1",
    "bytes=\x850-1",
    "bytes=5--3",
    "bytes=1 2-",
    "bytes=1234567890123456789-",
    "bytes=-1234567890123456789",
    "bytes=" + "9" * 5000 + "-",
    "bytes=a-b",
    "bytes=\ud800-1",
    "bytes=999999999999999999-",
    "bytes=-999999999999999999",
]


@pytest.mark.parametrize("size", [0, 1, 10, 100, 10**12])
@pytest.mark.parametrize("header", LISTED)
def test_listed_headers_match_starlette(header: str, size: int) -> None:
    same(header, size)


def test_the_fast_path_answers_ascii_digits_and_steps_aside_for_the_rest() -> None:
    assert _tachyon.parse_range_header("bytes=20-29,0-4,3-6", 100, 100) == [(0, 7), (20, 30)]
    assert _tachyon.parse_range_header("bytes=x", 100, 100) == "Range header: range must be requested"
    assert _tachyon.parse_range_header("bytes=200-", 100, 100) == 100
    assert _tachyon.parse_range_header("bytes=" + ",".join(["0-1"] * 101), 100, 100) == []
    for header in ("bytes=١٢-", "bytes=+5-", "bytes=1_0-", "bytes\xa0=0-1", "bytes=\ud800-1"):
        assert _tachyon.parse_range_header(header, 100, 100) is None, header
    # Arguments that are not plain ints and strs go to Python too.
    assert _tachyon.parse_range_header("bytes=0-1", 100, 2.5) is None
    assert _tachyon.parse_range_header("bytes=0-1", -1, 100) is None
    assert _tachyon.parse_range_header(b"bytes=0-1", 100, 100) is None
    # And Python's own parser reads them as Starlette does.
    assert FileResponse._parse_range_header("bytes=١٢-", 100) == [(12, 100)]
    assert FileResponse._parse_range_header("bytes=1_0-1_9", 100) == [(10, 20)]


def test_max_ranges_and_overrides_are_honoured() -> None:
    class Few(FileResponse):
        max_ranges = 2

    class TheirFew(starlette.responses.FileResponse):
        max_ranges = 2

    for header in ("bytes=0-1,3-4", "bytes=0-1,3-4,6-7"):
        assert outcome(Few, header, 100) == outcome(TheirFew, header, 100)
    assert Few._parse_range_header("bytes=0-1,3-4,6-7", 100) == []

    class OwnItems(FileResponse):
        @classmethod
        def _parse_ranges(cls, range_: str, file_size: int) -> list[tuple[int, int]]:
            return [(0, 1)]

    # A subclass's `_parse_ranges` is used: the native parser steps aside.
    assert OwnItems._parse_range_header("bytes=5-9", 100) == [(0, 1)]


numbers = st.one_of(
    st.integers(0, 120).map(str),
    st.integers(0, 10**20).map(str),
    st.just(""),
    st.sampled_from(["00", "007", "+1", "-1", "1_0", "١", "x", " 1 ", "\t", "1.5", "0x1", "٣٤"]),
)
items = st.one_of(
    st.builds(lambda a, b: f"{a}-{b}", numbers, numbers),
    st.builds(
        lambda a, b, c: f"{a}{b}{c}", st.sampled_from(["", " ", "\x1f", "\xa0"]), numbers, st.sampled_from(["", " "])
    ),
    st.text(alphabet="0123456789-, =bytes\t", max_size=12),
)
headers = st.builds(
    lambda unit, sep, parts: f"{unit}{sep}{','.join(parts)}",
    st.sampled_from(["bytes", "Bytes", " bytes ", "BYTES\t", "byte", "bytes\x85", ""]),
    st.sampled_from(["=", "", "=="]),
    st.lists(items, max_size=8),
)


@settings(max_examples=1500, deadline=None)
@given(header=headers, size=st.one_of(st.integers(0, 130), st.integers(0, 2**62)))
def test_generated_headers_match_starlette(header: str, size: int) -> None:
    same(header, size)


@settings(max_examples=500, deadline=None)
@given(header=st.text(max_size=40), size=st.integers(0, 200))
def test_any_text_matches_starlette(header: str, size: int) -> None:
    same(header, size)


@pytest.mark.parametrize(
    "header",
    ["bytes=0-4", "bytes=-3", "bytes=5-", "bytes=0-1,4-6", "bytes=\xa05-9\x85", "bytes=50-", "bytes=x", "bytes=3-1"],
)
def test_file_responses_match_starlette(tmp_path: Path, header: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(40)))
    answers = []
    for fw in (STARLETTE, TACHYON):

        async def endpoint(request: Any, fw: Any = fw) -> Any:
            return fw.responses.FileResponse(path)

        app = fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])
        response = fw.testclient.TestClient(app).get("/", headers={"Range": header.encode("latin-1")})
        body = response.content
        content_type = response.headers.get("content-type", "")
        if "boundary=" in content_type:
            boundary = content_type.split("boundary=")[1].encode()
            body = body.replace(boundary, b"B")
        answers.append((response.status_code, response.headers.get("content-range"), body))
    assert answers[0] == answers[1], header


def test_malformed_and_unsatisfiable_exceptions_keep_starlettes_fields() -> None:
    with pytest.raises(MalformedRangeHeader) as malformed:
        FileResponse._parse_range_header("bytes=9-5", 100)
    assert malformed.value.content == "Range header: start must be less than end"
    with pytest.raises(RangeNotSatisfiable) as unsatisfiable:
        FileResponse._parse_range_header("bytes=100-", 100)
    assert unsatisfiable.value.max_size == 100
