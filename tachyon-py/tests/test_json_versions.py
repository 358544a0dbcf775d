"""tachyon.json on each supported Python: the version-gated fast paths, and the messages
and limits that change between versions, checked against the running json module."""

from __future__ import annotations

import json
import math
import platform
import sys
import sysconfig
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tachyon import _tachyon
from tachyon import json as tjson

# The layouts src/json/cpython.rs reads were checked on these versions' default builds only.
CHECKED = {(3, 11), (3, 12), (3, 13)}
FAST = (
    platform.python_implementation() == "CPython"
    and sys.version_info[:2] in CHECKED
    and not sysconfig.get_config_var("Py_GIL_DISABLED")
    and not hasattr(sys, "gettotalrefcount")  # debug build
)


def reference_dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except json.JSONDecodeError as e:
        return ("raise", ("JSONDecodeError", e.msg, e.pos))
    except Exception as e:  # noqa: BLE001 - type and message are what is compared
        return ("raise", (type(e).__name__, str(e)))


@pytest.fixture
def portable() -> Iterator[None]:
    """json with every fast path off, as on an unchecked Python version."""
    _tachyon._json_use_fast_paths(False)
    try:
        yield
    finally:
        _tachyon._json_use_fast_paths(True)


def test_fast_paths_follow_the_checked_versions() -> None:
    info = _tachyon._json_fast_paths()
    assert info["layout"] == (f"3.{sys.version_info[1]}" if FAST else None)
    assert info["dict_entries"] is FAST
    assert info["compact_int"] is FAST
    assert info["presized_dict"] is FAST


def test_portable_switch_turns_every_fast_path_off(portable: None) -> None:
    info = _tachyon._json_fast_paths()
    assert not (info["dict_entries"] or info["compact_int"] or info["presized_dict"])


def hits() -> list[int]:
    counts = _tachyon._json_fast_paths()["hits"]
    if counts is None:
        pytest.skip("hit counters exist in debug builds only (what `make test` builds)")
    return list(counts)


DOC: Any = {
    "id": 123,
    "name": "Test",
    "items": [1, 2, 3, -4, 2**30 - 1, -(2**30) + 1, 2**30, 2**64, 0],
    "metadata": {"key": "value", 1: "int key", None: "none key"},
    "wide": {f"k{i}": i for i in range(40)},
}


def test_dumps_takes_the_fast_paths_on_checked_versions() -> None:
    before = hits()
    assert tjson.dumps(DOC) == reference_dumps(DOC)
    after = hits()
    dict_walks, int_reads = after[0] - before[0], after[1] - before[1]
    if FAST:
        assert dict_walks == 3  # DOC, metadata, wide
        assert int_reads == 1 + 8 + 40  # every int of one 30-bit digit
    else:
        assert (dict_walks, int_reads) == (0, 0)


def test_loads_takes_the_presized_dict_on_checked_versions() -> None:
    before = hits()
    text = json.dumps(DOC)
    assert tjson.loads(text) == json.loads(text)
    presized = hits()[2] - before[2]
    assert presized == (1 if FAST else 0)  # only "wide" has more than 5 keys


def test_portable_path_takes_no_fast_path(portable: None) -> None:
    before = hits()
    assert tjson.dumps(DOC) == reference_dumps(DOC)
    tjson.loads(json.dumps(DOC))
    assert hits() == before


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=["Cs"])),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner),
        st.dictionaries(st.text(max_size=8), inner),
        st.dictionaries(st.integers(), inner),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_fast_and_portable_paths_give_the_same_bytes(doc: Any) -> None:
    fast = tjson.dumps(doc)
    text = fast.decode()
    fast_loaded = tjson.loads(text)
    _tachyon._json_use_fast_paths(False)
    try:
        portable = tjson.dumps(doc)
        portable_loaded = tjson.loads(text)
    finally:
        _tachyon._json_use_fast_paths(True)
    assert fast == portable == reference_dumps(doc)
    assert fast_loaded == portable_loaded == json.loads(text)


def test_dict_with_deleted_entries_and_split_dicts() -> None:
    d = {f"k{i}": i for i in range(20)}
    for i in range(0, 20, 3):
        del d[f"k{i}"]

    class C:
        def __init__(self) -> None:
            self.a = 1
            self.b = [2]

    shared = [C().__dict__, C().__dict__]
    for obj in (d, shared):
        assert tjson.dumps(obj) == reference_dumps(obj)


# --- messages that differ between versions: the running json's own ---------------------


class Loud(float):
    def __repr__(self) -> str:
        return "Loud!"


@pytest.mark.parametrize(
    "obj",
    [math.nan, math.inf, -math.inf, [1, {"a": -math.inf}], {math.nan: 1}, Loud("nan"), [Loud("inf")]],
)
@pytest.mark.parametrize("fast", [True, False])
def test_out_of_range_float_message_is_the_running_jsons(obj: Any, fast: bool) -> None:
    _tachyon._json_use_fast_paths(fast)
    try:
        assert outcome(tjson.dumps, obj) == outcome(reference_dumps, obj)
    finally:
        _tachyon._json_use_fast_paths(True)


TRAILING = [
    "[1,]",
    "[1, ]",
    "[1,\n]",
    "[[1,],2]",
    '{"a":1,}',
    '{"a":1 ,  }',
    '{"a":1, "b":2,}',
    '{"a":[1,2,]}',
    "[1,,2]",
    "[,]",
    "{,}",
    '{"a":1,,}',
    "[1,}",
    '{"a":1,]',
    '{"a":]',
    "]",
    "[",
    "[1,",
    '{"a":1,',
    "[\u00e9,]",
    '["\u00e9",]',
]


@pytest.mark.parametrize("text", TRAILING)
def test_trailing_comma_errors_are_the_running_jsons(text: str) -> None:
    assert outcome(tjson.loads, text) == outcome(json.loads, text)
    data = text.encode()
    assert outcome(tjson.loads, data) == outcome(json.loads, data)


# --- nesting limits: json's own on each version ------------------------------------------


def nested(depth: int, kind: str) -> Any:
    doc: Any = [] if kind == "[" else {}
    for _ in range(depth - 1):
        doc = [doc] if kind == "[" else {"a": doc}
    return doc


def deepest(fn: Any, make: Any, hi: int = 20_000) -> int:
    """The deepest nesting `fn(make(depth))` accepts (RecursionError beyond)."""
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            fn(make(mid))
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


def close(ours: int, theirs: int) -> bool:
    """The same limit give or take the frames in use: json's budget shrinks by those its
    caller (here pytest) already holds, Tachyon's is the limit itself (3.11) or the budget
    counted at import (3.12, 3.13). 1000 on 3.11, 1500 on 3.12, 10000 on 3.13 tell apart."""
    return abs(ours - theirs) <= max(100, theirs // 20)


# dumps stops at 3000 levels even where json goes deeper (3.13: 10000): it recurses on
# the native stack, and this keeps it inside small thread stacks (src/json/dumps.rs).
MAX_DUMPS_DEPTH = 3000


@pytest.mark.parametrize("kind", ["[", "{"])
def test_loads_nesting_limit_is_the_running_jsons(kind: str) -> None:
    def text(depth: int) -> str:
        return ("[" * depth + "]" * depth) if kind == "[" else ('{"a":' * depth + "1" + "}" * depth)

    theirs = deepest(json.loads, text)
    ours = deepest(tjson.loads, text)
    assert close(ours, theirs), (ours, theirs)


@pytest.mark.parametrize("kind", ["[", "{"])
def test_dumps_nesting_limit_is_the_running_jsons(kind: str) -> None:
    theirs = deepest(reference_dumps, lambda d: nested(d, kind))
    ours = deepest(tjson.dumps, lambda d: nested(d, kind))
    assert close(ours, min(theirs, MAX_DUMPS_DEPTH)), (ours, theirs)
