"""The rules `tachyon._utils` takes from the native crates, against Starlette's own."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from starlette import _utils as starlette_utils

from tachyon import _utils

HOST_ALPHABET = st.sampled_from(list("abcXYZ019.-_~%!$&'()*+,;=:[]v/@ \t\u0130\u0131\u017f\u212a\u00e9"))


def host_outcome(module: Any, value: str) -> tuple[str, str | None, bool, str] | None:
    parsed = module.parse_host_header(value)
    if parsed is None:
        return None
    return parsed.host, parsed.port, parsed.is_valid_port, parsed.authority


@given(st.text(HOST_ALPHABET, max_size=24) | st.text(max_size=12))
@example("example.com:8000")
@example("[::1]:8000")
@example("[::ffff:1.2.3.4]")
@example("[::ffff:1.2.3.04]")
@example("[v1.a:b]:80")
@example("[V1.a]")
@example("[fe80::1%25eth0]")
@example("a.com:99999")
@example("a.com:0000065535")
@example("K.example")
@example("evil.com/path")
@example("\ud800")
def test_parse_host_header_matches_starlette(value: str) -> None:
    assert host_outcome(_utils, value) == host_outcome(starlette_utils, value)


def test_parse_host_header_none() -> None:
    assert _utils.parse_host_header(None) is None


PATH = st.text(st.sampled_from(list("/ab\u00e9")), max_size=8)


@given(PATH, st.none() | PATH)
@example("/a/b", "/a/")
@example("/a", "/a")
@example("/ab", "/a")
def test_get_route_path_matches_starlette(path: str, root_path: str | None) -> None:
    scope: dict[str, Any] = {"type": "http", "path": path}
    if root_path is not None:
        scope["root_path"] = root_path
    assert _utils.get_route_path(scope) == starlette_utils.get_route_path(scope)
