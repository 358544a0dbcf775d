"""Differential tests of tachyon.datastructures against Starlette's, on generated inputs."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette import datastructures as sd

from tachyon import datastructures as td

# Text that exercises every escaping corner of a query string: separators, `+`, `%` with
# good, bad and partial hex, UTF-8 escapes (valid and not), `;`, `#`, non-ASCII text.
QUERY_ALPHABET = st.sampled_from(
    [
        "a",
        "b",
        "=",
        "&",
        "+",
        "%",
        "%2",
        "%20",
        "%zz",
        "%E2%82%AC",
        "%C3",
        "%ff",
        ";",
        " ",
        "é",
        "€",
        "#",
        "?",
        "0",
        "F",
    ]
)
query_text = st.lists(QUERY_ALPHABET, max_size=30).map("".join)
latin1_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=20)


def outcome(fn: Any, *args: Any) -> Any:
    """The result of `fn(*args)`, or the type of the exception it raised."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - comparing whatever both sides raise
        return type(exc)


@given(query_text)
@example("a=1&a=2&b=&c&&=x&=&%zz=%E2%82%AC+")
def test_query_params_from_str(qs: str) -> None:
    ours, theirs = td.QueryParams(qs), sd.QueryParams(qs)
    assert ours.multi_items() == theirs.multi_items()
    assert dict(ours) == dict(theirs)
    assert list(ours.keys()) == list(theirs.keys())
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)


@given(st.binary(max_size=40) | query_text.map(lambda s: s.encode("utf-8")))
def test_query_params_from_bytes(qs: bytes) -> None:
    ours, theirs = td.QueryParams(qs), sd.QueryParams(qs)
    assert ours.multi_items() == theirs.multi_items()
    assert dict(ours) == dict(theirs)
    assert repr(ours) == repr(theirs)


@given(st.text(max_size=30))
def test_query_params_any_text(qs: str) -> None:
    assert td.QueryParams(qs).multi_items() == sd.QueryParams(qs).multi_items()


def test_query_params_lone_surrogate_falls_back_to_python() -> None:
    qs = "a=\ud800&b=%zz"
    assert td.QueryParams(qs).multi_items() == sd.QueryParams(qs).multi_items()


def test_query_params_other_constructors() -> None:
    for args, kwargs in [
        ((), {}),
        (([("a", "1"), ("a", "2")],), {}),
        (({"a": 1},), {}),
        (("a=1",), {"b": "2"}),
        ((b"a=1",), {"b": 2}),
    ]:
        ours, theirs = td.QueryParams(*args, **kwargs), sd.QueryParams(*args, **kwargs)
        assert ours.multi_items() == theirs.multi_items()
        assert repr(ours) == repr(theirs)


header_name = st.sampled_from(["host", "Host", "X-A", "x-a", "cookie", "content-type", "Content-Type", "é", "x-b"])
header_pairs = st.lists(
    st.tuples(header_name.map(lambda s: s.encode("latin-1")), latin1_text.map(lambda s: s.encode("latin-1"))),
    max_size=12,
)
lookup_key = header_name | st.sampled_from(["HOST", "X-a", "É", "€", "missing", ""]) | st.text(max_size=4)


@given(header_pairs, lookup_key)
def test_headers_lookups(raw: list[tuple[bytes, bytes]], key: str) -> None:
    ours, theirs = td.Headers(raw=list(raw)), sd.Headers(raw=list(raw))
    assert outcome(lambda: ours[key]) == outcome(lambda: theirs[key])
    assert outcome(ours.get, key) == outcome(theirs.get, key)
    assert outcome(lambda: ours.get(key, "default")) == outcome(lambda: theirs.get(key, "default"))
    assert outcome(ours.getlist, key) == outcome(theirs.getlist, key)
    assert outcome(lambda: key in ours) == outcome(lambda: key in theirs)
    assert ours.items() == theirs.items()
    assert ours.keys() == theirs.keys()
    assert repr(ours) == repr(theirs)


@given(st.dictionaries(st.sampled_from(["A", "b", "Content-Type", "x-Y"]), latin1_text, max_size=4), lookup_key)
def test_headers_from_mapping(headers: dict[str, str], key: str) -> None:
    ours, theirs = td.Headers(headers=headers), sd.Headers(headers=headers)
    assert ours.raw == theirs.raw
    assert outcome(ours.getlist, key) == outcome(theirs.getlist, key)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("key", [1, None, b"host"])
def test_headers_non_str_keys_fail_alike(key: Any) -> None:
    raw = [(b"host", b"x")]
    ours, theirs = td.Headers(raw=raw), sd.Headers(raw=raw)
    assert outcome(lambda: ours[key]) == outcome(lambda: theirs[key])
    assert outcome(lambda: key in ours) == outcome(lambda: key in theirs)
    assert outcome(ours.getlist, key) == outcome(theirs.getlist, key)


def test_headers_odd_pair_types() -> None:
    # ASGI allows any two-item iterables; Python's `==` decides for non-bytes names.
    raw: list[Any] = [[b"x-a", b"1"], (bytearray(b"x-b"), b"2"), ("x-c", b"3"), (b"x-d", bytearray(b"4"))]
    ours, theirs = td.Headers(raw=raw), sd.Headers(raw=raw)
    for key in ["x-a", "x-b", "x-c", "x-d"]:
        assert outcome(lambda: ours[key]) == outcome(lambda: theirs[key])  # noqa: B023
        assert outcome(ours.getlist, key) == outcome(theirs.getlist, key)
        assert (key in ours) == (key in theirs)


@pytest.mark.parametrize("initial", [((b"a", b"1"), (b"b", b"2")), [(b"a", b"1"), (b"b", b"2")]])
def test_headers_scope_write_through(initial: Any) -> None:
    seen = []
    for ds in (sd, td):
        scope: dict[str, Any] = {"type": "http", "headers": initial}
        early = ds.Headers(scope=scope)
        writer = ds.MutableHeaders(scope=scope)
        later = ds.Headers(scope=scope)
        writer["A"] = "x"
        writer.append("c", "3")
        del writer["b"]
        # Each Headers(scope=...) puts its own list copy in the scope, in both frameworks.
        assert later._list is scope["headers"]
        seen.append((scope["headers"], early.get("a"), later["a"], later.get("c"), "b" in later, later.getlist("A")))
    assert seen[0] == seen[1]


def test_mutable_headers_write_through_to_message() -> None:
    # What middleware relies on: MutableHeaders(scope=message) edits the message's list.
    for ds in (sd, td):
        message: dict[str, Any] = {"type": "http.response.start", "headers": [(b"a", b"1")]}
        headers = ds.MutableHeaders(scope=message)
        headers["b"] = "2"
        headers.add_vary_header("origin")
        assert message["headers"] == [(b"a", b"1"), (b"b", b"2"), (b"vary", b"origin")]
        assert ds.Headers(scope=message).getlist("vary") == ["origin"]


@given(
    header_pairs,
    st.lists(
        st.tuples(st.sampled_from(["set", "append", "del", "setdefault", "vary"]), header_name, latin1_text),
        max_size=6,
    ),
)
def test_mutable_headers_operations(raw: list[tuple[bytes, bytes]], ops: list[tuple[str, str, str]]) -> None:
    ours, theirs = td.MutableHeaders(raw=list(raw)), sd.MutableHeaders(raw=list(raw))
    for op, key, value in ops:
        for h in (ours, theirs):
            if op == "set":
                h[key] = value
            elif op == "append":
                h.append(key, value)
            elif op == "del":
                del h[key]
            elif op == "setdefault":
                h.setdefault(key, value)
            else:
                h.add_vary_header(value)
        assert ours.raw == theirs.raw
        assert outcome(ours.getlist, key) == outcome(theirs.getlist, key)


url_text = st.lists(
    st.sampled_from(
        [
            "http://",
            "https://",
            "ws://",
            "u:p@",
            "example.com",
            "[::1]",
            ":8080",
            "/",
            "a",
            "?",
            "q=1",
            "&",
            "#",
            "f",
            "%20",
            "é",
        ]
    ),
    max_size=10,
).map("".join)


@given(url_text)
@settings(max_examples=200)
def test_url_components(url: str) -> None:
    ours, theirs = td.URL(url), sd.URL(url)
    for attr in ["scheme", "netloc", "path", "query", "fragment", "username", "password", "hostname", "is_secure"]:
        assert outcome(getattr, ours, attr) == outcome(getattr, theirs, attr), attr
    assert outcome(getattr, ours, "port") == outcome(getattr, theirs, "port")
    assert outcome(repr, ours) == outcome(repr, theirs)
    assert outcome(lambda: str(ours.include_query_params(b="2 3"))) == outcome(
        lambda: str(theirs.include_query_params(b="2 3"))
    )
    assert outcome(lambda: str(ours.remove_query_params("q"))) == outcome(lambda: str(theirs.remove_query_params("q")))
    assert outcome(lambda: str(ours.replace_query_params(x="é"))) == outcome(
        lambda: str(theirs.replace_query_params(x="é"))
    )


@given(
    st.sampled_from(["http", "https", "ws"]),
    st.sampled_from(["/", "/a b", "//x", "/p?q", "/\\"]),
    st.sampled_from([b"", b"a=1", b"x=%20"]),
    st.sampled_from([[], [(b"host", b"example.com")], [(b"host", b"h:81")], [(b"host", b"bad:port")]]),
    st.sampled_from([None, ("10.0.0.1", 80), ("::1", 8443)]),
)
def test_url_from_scope(
    scheme: str, path: str, qs: bytes, headers: list[tuple[bytes, bytes]], server: tuple[str, int] | None
) -> None:
    scope = {"type": "http", "scheme": scheme, "path": path, "query_string": qs, "headers": headers, "server": server}
    assert str(td.URL(scope=scope)) == str(sd.URL(scope=scope))


def test_upload_file_and_form_data_reprs() -> None:
    async def run() -> None:
        for ds in (sd, td):
            upload = ds.UploadFile(
                io.BytesIO(b"hello"), size=5, filename="a.txt", headers=ds.Headers({"content-type": "text/plain"})
            )
            assert upload.content_type == "text/plain"
            assert await upload.read(2) == b"he"
            await upload.seek(0)
            assert await upload.read() == b"hello"
            form = ds.FormData([("a", "1"), ("f", upload)], b="2")
            results.append((repr(upload), repr(form).replace(ds.__name__, "X"), form.getlist("a"), len(form)))
            await form.close()
            assert upload.file.closed

    results: list[Any] = []
    import anyio

    anyio.run(run)
    assert results[0][0] == results[1][0]
    assert results[0][2:] == results[1][2:]


def test_upload_file_spools_to_disk_like_starlette() -> None:
    from tempfile import SpooledTemporaryFile

    async def run(ds: Any) -> tuple[Any, ...]:
        upload = ds.UploadFile(SpooledTemporaryFile(max_size=10), size=0, filename="f")
        await upload.write(b"12345")
        in_memory = upload._in_memory
        await upload.write(b"678901234")
        await upload.seek(0)
        data = await upload.read()
        on_disk = not upload._in_memory
        await upload.close()
        return in_memory, on_disk, data, upload.size, upload.file.closed

    import anyio

    assert anyio.run(run, td) == anyio.run(run, sd) == (True, True, b"12345678901234", 14, True)


@given(st.lists(st.tuples(st.binary(max_size=8), st.binary(max_size=8)), max_size=8), st.binary(max_size=4))
def test_headers_any_bytes_never_panic(raw: list[tuple[bytes, bytes]], key_bytes: bytes) -> None:
    # Every byte string is latin-1, so any raw header list reads as Starlette reads it.
    key = key_bytes.decode("latin-1")
    ours, theirs = td.Headers(raw=list(raw)), sd.Headers(raw=list(raw))
    assert outcome(ours.get, key) == outcome(theirs.get, key)
    assert outcome(ours.getlist, key) == outcome(theirs.getlist, key)
    assert outcome(lambda: key in ours) == outcome(lambda: key in theirs)
    assert td.Headers(raw=list(raw)).items() == theirs.items()
