"""Differential tests: tachyon.json against the stdlib json module."""

from __future__ import annotations

import enum
import json
import math
import sys
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tachyon import _tachyon
from tachyon import json as tjson


def reference_dumps(obj: Any) -> bytes:
    """What Starlette's JSONResponse renders."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except RecursionError:
        return ("raise", "RecursionError")
    except json.JSONDecodeError as e:
        return ("raise", ("JSONDecodeError", e.msg, e.pos))
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return ("raise", type(e).__name__)


def same(a: Any, b: Any) -> bool:
    """Equality that also distinguishes 1 from 1.0 and -0.0 from 0.0, with NaN == NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


# --- strategies -------------------------------------------------------------

texts = st.text(st.characters(blacklist_categories=["Cs"]))
any_texts = st.text()  # lone surrogates included
huge_ints = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 0, -1]),
    # Around one 30-bit CPython digit (dumps reads single-digit ints directly).
    st.sampled_from([2**30 - 1, 2**30, 2**30 + 1, -(2**30) + 1, -(2**30), 2**31, -(2**31)]),
)
finite_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 1.5e-5, 5e-324, 1e300]),
)


class IntSub(int):
    def __repr__(self) -> str:  # json must not call this
        return "IntSub!"

    __str__ = __repr__


EDGE_FLOATS = [0.0, -0.0, 1e16, 9999999999999998.0, 1e-4, 9.9999e-05, 1e-07, 5e-324, 1.7976931348623157e308]


class FloatSub(float):
    def __repr__(self) -> str:
        return "FloatSub!"


class StrSub(str):
    pass


class DictSub(dict):  # type: ignore[type-arg]
    pass


class ListSub(list):  # type: ignore[type-arg]
    pass


class Color(enum.IntEnum):
    RED = 1


class Name(str, enum.Enum):  # noqa: UP042 - a str subclass is the point
    ALICE = "alice"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    huge_ints,
    finite_floats,
    texts,
    huge_ints.map(IntSub),
    finite_floats.map(FloatSub),
    texts.map(StrSub),
    st.just(Color.RED),
    st.just(Name.ALICE),
)
keys = st.one_of(texts, texts.map(StrSub), huge_ints, finite_floats, st.booleans(), st.none())


def containers(children: Any) -> Any:
    return st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        st.lists(children, max_size=6).map(ListSub),
        st.dictionaries(keys, children, max_size=6),
        st.dictionaries(keys, children, max_size=6).map(DictSub),
        st.dictionaries(texts, children, max_size=6).map(OrderedDict),
    )


documents = st.recursive(scalars, containers, max_leaves=40)


# --- dumps ------------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(documents)
def test_dumps_matches_json(obj: Any) -> None:
    assert outcome(tjson.dumps, obj) == outcome(reference_dumps, obj)


@settings(max_examples=300, deadline=None)
@given(any_texts)
def test_dumps_strings_and_surrogates(s: str) -> None:
    assert outcome(tjson.dumps, s) == outcome(reference_dumps, s)
    assert outcome(tjson.dumps, {s: [s]}) == outcome(reference_dumps, {s: [s]})


@given(st.text(st.characters(max_codepoint=0x3000), max_size=200))
def test_dumps_control_and_special_chars(s: str) -> None:
    s = s + "".join(chr(c) for c in range(0x20)) + '"\\\x7f\u2028\u2029' + s
    assert tjson.dumps(s) == reference_dumps(s)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_dumps_float_repr(x: float) -> None:
    assert tjson.dumps(x) == repr(x).encode()
    assert tjson.dumps([x, {x: x}]) == reference_dumps([x, {x: x}])


EDGE_FLOATS = [0.0, -0.0, 1e16, 9999999999999998.0, 1e-4, 9.9999e-05, 1e-07, 5e-324, 1.7976931348623157e308]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats()
        | st.sampled_from(EDGE_FLOATS)
        | st.integers(-5, 5)
        | st.none()
        | st.floats(allow_nan=False).map(FloatSub),
        max_size=30,
    ),
    st.booleans(),
)
def test_dumps_runs_of_floats_in_arrays(items: list[Any], as_tuple: bool) -> None:
    # Arrays write runs of exact floats with their own loop: same bytes, same errors (the
    # first non-finite float raises json's ValueError), with other items between runs.
    obj: Any = tuple(items) if as_tuple else items
    assert outcome(tjson.dumps, obj) == outcome(reference_dumps, obj)
    assert outcome(tjson.dumps, [obj, {"k": obj}]) == outcome(reference_dumps, [obj, {"k": obj}])


def test_dumps_a_run_of_floats_that_outgrows_the_output() -> None:
    tjson.dumps(0)  # the next output starts small
    floats = [i / 7 for i in range(-50_000, 50_000)] + [1e300, -1e-300]
    assert tjson.dumps(floats) == reference_dumps(floats)
    assert tjson.dumps(tuple(floats)) == reference_dumps(floats)


def test_dumps_examples() -> None:
    seed = {"id": 123, "name": "Test", "items": [1, 2, 3, 4, 5], "metadata": {"key": "value"}}
    assert tjson.dumps(seed) == reference_dumps(seed)
    for x in [1e16, 1e-07, 1.5e-05, 123.0, -0.0, 1e300, 0.1, 2**100, -(2**64)]:
        assert tjson.dumps(x) == reference_dumps(x)
    assert tjson.dumps(IntSub(5)) == b"5"
    assert tjson.dumps(FloatSub(2.5)) == b"2.5"
    assert tjson.dumps({IntSub(5): 1, FloatSub(0.5): 2, True: 3, None: 4}) == (b'{"5":1,"0.5":2,"true":3,"null":4}')
    assert tjson.dumps({Color.RED: Color.RED, Name.ALICE: Name.ALICE}) == (
        reference_dumps({Color.RED: Color.RED, Name.ALICE: Name.ALICE})
    )


def test_dumps_subclass_hooks_like_json() -> None:
    class Items(dict):  # type: ignore[type-arg]
        def items(self):  # type: ignore[no-untyped-def]
            return [("overridden", 1)]

    class Iter(list):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter([7, 8])

    for obj in [Items(a=1), Iter([1, 2, 3]), [Items(a=1), Iter([1])]]:
        assert tjson.dumps(obj) == reference_dumps(obj)


@pytest.mark.parametrize(
    ("obj", "exc", "message"),
    [
        (float("nan"), ValueError, "Out of range float values are not JSON compliant"),
        ([float("inf")], ValueError, "Out of range float values are not JSON compliant"),
        ({"a": -float("inf")}, ValueError, "Out of range float values are not JSON compliant"),
        ({float("nan"): 1}, ValueError, "Out of range float values are not JSON compliant"),
        (object(), TypeError, "Object of type object is not JSON serializable"),
        ({"a": {1, 2}}, TypeError, "Object of type set is not JSON serializable"),
        (b"bytes", TypeError, "Object of type bytes is not JSON serializable"),
        ({(1, 2): 3}, TypeError, "keys must be str, int, float, bool or None, not tuple"),
        ({b"k": 3}, TypeError, "keys must be str, int, float, bool or None, not bytes"),
        ("\ud800", UnicodeEncodeError, None),
        ({"\udfff": 1}, UnicodeEncodeError, None),
    ],
)
def test_dumps_errors(obj: Any, exc: type[Exception], message: str | None) -> None:
    with pytest.raises(exc) as got:
        tjson.dumps(obj)
    with pytest.raises(exc) as want:
        reference_dumps(obj)
    if message is not None:
        # The running json's message (3.12 appends the float: "...compliant: nan").
        assert str(got.value) == str(want.value)
        assert str(got.value).startswith(message)


def test_dumps_circular_reference() -> None:
    a: list[Any] = []
    a.append(a)
    d: dict[str, Any] = {}
    d["self"] = [d]
    for obj in (a, d, {"x": a}):
        with pytest.raises(ValueError, match="Circular reference detected"):
            tjson.dumps(obj)
        with pytest.raises(ValueError, match="Circular reference detected"):
            reference_dumps(obj)


def test_dumps_deep_nesting_raises_recursion_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        tjson.dumps(deep)
    nested: dict[str, Any] = {}
    for _ in range(100_000):
        nested = {"a": nested}
    with pytest.raises(RecursionError):
        tjson.dumps(nested)


def test_dumps_moderate_nesting_works() -> None:
    deep: list[Any] = []
    for _ in range(200):
        deep = [deep]
    assert tjson.dumps(deep) == reference_dumps(deep)


def test_dumps_big_int_digit_limit() -> None:
    big = 10**5000
    assert outcome(tjson.dumps, big) == outcome(reference_dumps, big)


# --- loads ------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), huge_ints, finite_floats, any_texts),
    lambda children: st.one_of(st.lists(children, max_size=6), st.dictionaries(any_texts, children, max_size=6)),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(
    json_values,
    st.booleans(),
    st.sampled_from([None, 0, 2, "\t"]),
    st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\r\n")]),
)
def test_loads_matches_json(obj: Any, ensure_ascii: bool, indent: Any, seps: Any) -> None:
    text = json.dumps(obj, ensure_ascii=ensure_ascii, indent=indent, separators=seps)
    want = json.loads(text)
    assert same(tjson.loads(text), want)
    try:
        data = text.encode()
    except UnicodeEncodeError:
        return
    for buf in (data, bytearray(data), memoryview(data)):
        assert same(tjson.loads(buf), want)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(any_texts, st.integers()), max_size=6))
def test_loads_duplicate_keys_last_wins(pairs: list[tuple[str, int]]) -> None:
    body = ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs + pairs[:2])
    text = "{" + body + "}"
    assert same(tjson.loads(text), json.loads(text))


json_alphabet = st.sampled_from(
    list('{}[]",:0123456789-+.eE \t\n\r\\/u')
    + ["true", "false", "null", "NaN", "Infinity"]
    + ["\\u00e9", "\\ud800", "\\udc00", "é", "\x00", "\x1f", "\x7f", "\u2028", "🎉"]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(json_alphabet, max_size=30).map("".join))
def test_loads_random_text_same_outcome(text: str) -> None:
    want = outcome(json.loads, text)
    got = outcome(tjson.loads, text)
    if want[0] == "ok":
        assert got[0] == "ok" and same(got[1], want[1]), (text, got, want)
    else:
        assert got == want, text
    if want[0] == "ok":
        assert same(tjson.loads(text.encode()), want[1])


@given(st.from_regex(r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,4})?", fullmatch=True))
def test_loads_numbers(text: str) -> None:
    assert same(tjson.loads(text), json.loads(text))
    assert same(tjson.loads(f"[{text}]"), json.loads(f"[{text}]"))


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "[NaN,-Infinity]",
        "-0",
        "-0.0",
        "1E400",
        "-1e-400",
        "123456789012345678901234567890",
        "-9223372036854775809",
        "9223372036854775807",
        '"\\ud83d\\ude00"',
        '"\\ud800"',
        '"\\udc00\\ud800"',
        '"\\ud800\\u0041"',
        '"\\/"',
        '{"a":1,"a":2}',
        " \t\n\r[ ] ",
        '{"":""}',
        "[[[]],{}]",
        "0.1",
        "2.5e-324",
        "1.7976931348623157e308",
        "17976931348623159e292",
    ],
)
def test_loads_examples(text: str) -> None:
    assert same(tjson.loads(text), json.loads(text))
    assert same(tjson.loads(text.encode("utf-8", "surrogatepass")), json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "[1,]",
        '{"a":1,}',
        "[1 2]",
        '{"a" 1}',
        "{1:2}",
        '"abc',
        '"a\nb"',
        '"\\x"',
        '"\\u12"',
        '"\\u12zz"   ',
        '"\\ud800\\uzzzz"   ',
        "1 2",
        "nul",
        "-",
        "01",
        "[1.]",
        "1e",
        "\ufeff1",
        '"\\',
        "[",
        "{",
        '{"a"',
        '{"a":',
        '"\\u0041',
        "[1]]",
        "{]",
        "[}",
        "tru",
        "-Infinit",
        "+1",
        ".5",
        "[01]",
        '"\x00"',
        "é",
        '["é" 1]',
        "[1, 2, 3,]",
    ],
)
def test_loads_errors_match_json(text: str) -> None:
    want = outcome(json.loads, text)
    assert want[0] == "raise"
    assert outcome(tjson.loads, text) == want
    got_exc = pytest.raises(json.JSONDecodeError, tjson.loads, text).value
    want_exc = pytest.raises(json.JSONDecodeError, json.loads, text).value
    assert (got_exc.lineno, got_exc.colno, got_exc.doc) == (want_exc.lineno, want_exc.colno, want_exc.doc)
    assert str(got_exc) == str(want_exc)


def test_loads_big_int_digit_limit() -> None:
    text = "1" * 5000
    assert outcome(tjson.loads, text) == outcome(json.loads, text)


def test_loads_ten_megabytes_of_brackets() -> None:
    data = b"[" * (10 * 1024 * 1024)
    with pytest.raises(RecursionError, match="decoding a JSON array"):
        tjson.loads(data)
    with pytest.raises(RecursionError, match="decoding a JSON object"):
        tjson.loads(b"{" + b'"a":{' * 1_000_000)


def test_loads_nesting_within_limit() -> None:
    depth = 500
    assert tjson.loads("[" * depth + "]" * depth) == json.loads("[" * depth + "]" * depth)


@pytest.mark.parametrize("data", [b"\xff", b'["\xc3"]', b'{"a":"\xed\xa0"}', b'"\xf0\x9f\x98"', b"[1, \x80]"])
def test_loads_invalid_utf8_is_decode_error(data: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        tjson.loads(data)
    with pytest.raises(ValueError):
        json.loads(data)


def test_loads_bytes_encodings_like_json() -> None:
    doc = {"k": ["é", 1]}
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        data = json.dumps(doc).encode(encoding)
        assert tjson.loads(data) == json.loads(data) == doc


def test_loads_encoded_surrogates_in_bytes_like_json() -> None:
    # json.loads decodes bytes with surrogatepass.
    data = b'{"a":"\xed\xa0\x80"}'
    assert tjson.loads(data) == json.loads(data)


def test_loads_str_with_lone_surrogate_characters() -> None:
    text = '["\ud800"]'
    assert tjson.loads(text) == json.loads(text)


def test_loads_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="must be str, bytes or bytearray, not int"):
        tjson.loads(1)
    with pytest.raises(TypeError, match="must be str, bytes or bytearray, not int"):
        json.loads(1)  # type: ignore[arg-type]


def test_decode_error_is_value_error() -> None:
    assert issubclass(tjson.JSONDecodeError, ValueError)
    assert tjson.JSONDecodeError is json.JSONDecodeError


def test_roundtrip_refcounts_stable() -> None:
    doc = {"key": ["value", 1, 2.5, None, True, {"nested": "x" * 100}]}
    data = tjson.dumps(doc)
    before = sys.getrefcount(None)
    for _ in range(1000):
        assert tjson.loads(data) == doc
        try:
            tjson.loads(b'{"key": [1, 2, "x", null,')
        except json.JSONDecodeError:
            pass
    assert abs(sys.getrefcount(None) - before) < 10


# --- dict layouts and mutation (dumps reads CPython's dict tables directly) ---


def test_dumps_dicts_with_deleted_entries_and_general_keys() -> None:
    d = {f"k{i}": i for i in range(50)}
    for i in range(0, 50, 3):
        del d[f"k{i}"]
    g: dict[Any, Any] = {i: str(i) for i in range(20)}
    g["s"] = None
    del g[3], g[7]
    for obj in (d, g, {"nested": [d, g]}):
        assert tjson.dumps(obj) == reference_dumps(obj)


def test_dumps_split_table_instance_dicts() -> None:
    class Point:
        def __init__(self, x: int, y: int) -> None:
            self.x = x
            self.y = y

    points = [Point(i, -i) for i in range(10)]
    dicts = [vars(p) for p in points]
    del points[0].y
    assert tjson.dumps(dicts) == reference_dumps(dicts)


def test_dumps_survives_mutation_from_subclass_hooks() -> None:
    outer: dict[str, Any] = {}

    class Evil(dict):  # type: ignore[type-arg]
        def items(self):  # type: ignore[no-untyped-def]
            outer.clear()
            for i in range(100):
                outer[f"new{i}"] = i
            return [("k", 1)]

    outer.update({"a": Evil(x=1), "b": [1, 2, 3]})
    # What json.dumps writes here differs by version (3.11 walks a snapshot of the items,
    # 3.12 and later the changed table); tachyon stops with the error Python raises when a
    # dict changes size under `for key in d`, on every version, before reading the new table.
    with pytest.raises(RuntimeError, match="^dictionary changed size during iteration$"):
        tjson.dumps(outer)

    holder: list[Any] = []

    class EvilList(list):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            holder.clear()
            return iter([1])

    holder.extend([EvilList([0]), {"x": "y" * 50}, [1.5]])
    # The outer list is an exact list: walked by index, it ends where the hook cut it.
    assert tjson.dumps(holder) == reference_dumps([EvilList([0])]) == b"[[1]]"


def test_dumps_large_outputs_grow_correctly() -> None:
    small = {"a": 1}
    big = [{"text": "é" * i, "n": i, "f": i / 7} for i in range(3000)]
    for obj in (small, big, small, big, [], "x" * 100_000):
        assert tjson.dumps(obj) == reference_dumps(obj)


@pytest.mark.skipif(not _tachyon._test_hooks, reason="built without the test-hooks feature")
def test_dumps_out_of_memory_while_growing_raises_memory_error() -> None:
    """A failed growth of the output (`_PyBytes_Resize` out of memory) reaches the caller as
    the MemoryError the interpreter raised, not as the SystemError of an internal error."""
    big = ["x" * 1000] * 100
    tjson.dumps({})  # the next output starts small, so `big` must grow it
    _tachyon._test_json_fail_next_grow()
    with pytest.raises(MemoryError) as caught:
        tjson.dumps(big)
    assert type(caught.value) is MemoryError
    # The failure is not sticky: the next call grows and succeeds.
    assert tjson.dumps(big) == reference_dumps(big)


def test_loads_bytes_subclass_and_memoryview_slices() -> None:
    class B(bytes):
        pass

    assert tjson.loads(B(b'{"a": [1]}')) == {"a": [1]}
    data = b'xx[1, 2, "three"]yy'
    assert tjson.loads(memoryview(data)[2:-2]) == [1, 2, "three"]


def test_loads_many_distinct_keys_share_no_state() -> None:
    docs = [{f"key{i}_{j}": j for j in range(30)} for i in range(300)]
    for doc in docs:
        assert tjson.loads(json.dumps(doc)) == doc
    # Cached keys are equal, hashable, interchangeable strs.
    a, b = tjson.loads(b'[{"same": 1}, {"same": 2}]')
    assert list(a) == list(b) == ["same"]


def test_dumps_ints_around_digit_boundaries() -> None:
    values = [s * (2**k + d) for k in (0, 29, 30, 31, 59, 60, 62, 63, 64) for d in (-1, 0, 1) for s in (1, -1)]
    assert tjson.dumps(values) == reference_dumps(values)
    assert tjson.dumps([IntSub(v) for v in values]) == reference_dumps(values)


def test_loads_leaves_the_collector_as_it_found_it() -> None:
    import gc

    big = json.dumps([[i, {"k": [i]}] for i in range(2000)])
    assert gc.isenabled()
    assert tjson.loads(big) == json.loads(big)
    with pytest.raises(json.JSONDecodeError):
        tjson.loads(big[:-1])
    assert gc.isenabled()
    gc.disable()
    try:
        assert tjson.loads(big) == json.loads(big)
        assert not gc.isenabled()
    finally:
        gc.enable()
