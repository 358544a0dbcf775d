"""The RSGI → ASGI scope conversion (native) against the plain-Python rules it implements.

Granian hands the app a scope object whose path is already percent-decoded and whose
headers are str pairs; the ASGI scope Tachyon builds from it must be what uvicorn would
give for the same request: `raw_path` re-encoded as `urllib.parse.quote` does, headers as
latin-1 bytes, the query string as UTF-8 bytes, `(host, port)` address tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tachyon import rsgi
from tachyon._tachyon import str_headers


class FakeHeaders:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)


@dataclass
class FakeScope:
    """The attributes of Granian's RSGI scope that the conversion reads."""

    path: str = "/"
    query_string: str = ""
    method: str = "GET"
    headers: Any = field(default_factory=lambda: FakeHeaders([("host", "example.com")]))
    proto: str = "http"
    http_version: str = "1.1"
    scheme: str = "http"
    server: str = "127.0.0.1:8000"
    client: str = "127.0.0.1:50123"


def address(value: str) -> tuple[str, int] | None:
    host, sep, port = value.rpartition(":")
    return (host.strip("[]"), int(port)) if sep and port.isdigit() else None


def expected(scope: FakeScope, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ASGI scope, by the rules written out in Python."""
    path = scope.path
    raw = quote(path, safe="/:@!$&'()*+,;=-._~")
    out: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": scope.http_version,
        "server": address(scope.server),
        "client": address(scope.client),
        "scheme": scope.scheme,
        "method": scope.method,
        "root_path": "",
        "path": path,
        "raw_path": raw.encode("ascii"),
        "query_string": scope.query_string.encode(),
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in scope.headers.items()],
        "state": dict(state or {}),
        "extensions": {"http.response.pathsend": {}},
    }
    if scope.proto == "ws":
        del out["method"]
        out["type"] = "websocket"
        out["scheme"] = "wss" if scope.scheme == "https" else "ws"
        offered = [v for k, v in scope.headers.items() if k == "sec-websocket-protocol"]
        out["subprotocols"] = [item.strip() for value in offered for item in value.split(",")]
    return out


def test_http_scope_keys_values_and_order() -> None:
    scope = FakeScope(path="/users/42", query_string="q=1&x=%20", method="POST")
    got = rsgi.asgi_scope(scope)
    assert got == expected(scope)
    assert list(got) == list(expected(scope))


@given(
    path=st.text(st.characters(exclude_categories=("Cs",)), max_size=30).map(lambda s: "/" + s),
    query=st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    headers=st.lists(
        st.tuples(st.text("abcdef-", min_size=1, max_size=8), st.text(st.characters(max_codepoint=255), max_size=12)),
        max_size=5,
    ),
)
def test_scope_matches_the_python_rules(path: str, query: str, headers: list[tuple[str, str]]) -> None:
    scope = FakeScope(path=path, query_string=query, headers=FakeHeaders(headers))
    assert rsgi.asgi_scope(scope) == expected(scope)


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/a b", b"/a%20b"),
        ("/100%", b"/100%25"),
        ("/caf\u00e9/\u2603", b"/caf%C3%A9/%E2%98%83"),
        ("/keep:@!$&'()*+,;=-._~", b"/keep:@!$&'()*+,;=-._~"),
        ("/q?x#y", b"/q%3Fx%23y"),
        ("/plain", b"/plain"),
    ],
)
def test_raw_path_is_requoted(path: str, raw: bytes) -> None:
    assert rsgi.asgi_scope(FakeScope(path=path))["raw_path"] == raw


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("[::1]:443", ("::1", 443)),
        ("unix-socket", None),
        ("host:", None),
        ("host:80x", None),
        ("a:b:9", ("a:b", 9)),
    ],
)
def test_addresses(value: str, parsed: tuple[str, int] | None) -> None:
    # The server address is cached between requests: vary it to check the cache too.
    assert rsgi.asgi_scope(FakeScope(server=value, client=value))["server"] == parsed
    assert rsgi.asgi_scope(FakeScope(server=value, client=value))["client"] == parsed
    assert rsgi.asgi_scope(FakeScope(server="10.0.0.1:1", client=value))["server"] == ("10.0.0.1", 1)


def test_state_is_copied() -> None:
    state = {"db": object()}
    got = rsgi.asgi_scope(FakeScope(), state)
    assert got["state"] == state and got["state"] is not state
    assert rsgi.asgi_scope(FakeScope())["state"] == {}


def test_websocket_scope() -> None:
    headers = FakeHeaders(
        [("host", "x"), ("sec-websocket-protocol", "chat, superchat"), ("sec-websocket-protocol", "v2")]
    )
    for scheme in ("http", "https"):
        scope = FakeScope(proto="ws", scheme=scheme, headers=headers)
        got = rsgi.asgi_scope(scope)
        assert got == expected(scope)
        assert got["subprotocols"] == ["chat", "superchat", "v2"]


def test_bad_header_text_raises_the_encoders_error() -> None:
    with pytest.raises(UnicodeEncodeError):
        rsgi.asgi_scope(FakeScope(headers=FakeHeaders([("x-snow", "\u2603")])))
    with pytest.raises(TypeError):
        rsgi.asgi_scope(FakeScope(headers=FakeHeaders([("x", b"bytes")])))  # type: ignore[list-item]
    with pytest.raises(UnicodeEncodeError):
        rsgi.asgi_scope(FakeScope(path="/\udcff"))


def test_str_headers() -> None:
    raw = [(b"content-type", b"text/plain"), (b"x-l1", "café".encode("latin-1")), [b"x-list", bytearray(b"v")]]
    assert str_headers(raw) == [("content-type", "text/plain"), ("x-l1", "café"), ("x-list", "v")]
    with pytest.raises(TypeError):
        str_headers([(b"only-one",)])
