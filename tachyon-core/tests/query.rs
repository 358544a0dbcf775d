//! parse_qsl / unquote_plus / urlencode against CPython 3.11 outputs (tests/data/*.json).
mod common;
use common::*;
use tachyon_core::query::{QueryParams, parse_qsl, parse_query_bytes, unquote_plus, urlencode};

fn owned(v: Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)>) -> Vec<(String, String)> {
    v.into_iter()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Proves that `form_urlencoded::parse` (which `parse_qsl` uses) equals
/// `urllib.parse.parse_qsl(s, keep_blank_values=True)` on ~3000 strings, including every
/// escaping corner named in the issue: truncated UTF-8, surrogates, overlongs, `%zz`, `%4`,
/// `;`, `a=b=c`, non-ASCII text next to partial escapes.
#[test]
fn parse_qsl_matches_cpython() {
    for case in load("parse_qsl.json") {
        let input = s(&case[0]);
        assert_eq!(owned(parse_qsl(input)), pairs(&case[1]), "input {input:?}");
    }
}

#[test]
fn unquote_plus_matches_cpython() {
    for case in load("unquote_plus.json") {
        let input = s(&case[0]);
        assert_eq!(unquote_plus(input), s(&case[1]), "input {input:?}");
    }
}

#[test]
fn parse_query_bytes_decodes_latin1_like_starlette() {
    for case in load("parse_query_bytes.json") {
        let raw = bytes(&case[0]);
        assert_eq!(parse_query_bytes(&raw), pairs(&case[1]), "input {raw:?}");
    }
}

#[test]
fn urlencode_matches_cpython() {
    for case in load("urlencode.json") {
        let input = pairs(&case[0]);
        assert_eq!(
            urlencode(input.iter().map(|(k, v)| (k, v))),
            s(&case[1]),
            "input {input:?}"
        );
    }
}

/// Why `form_urlencoded::byte_serialize` is not used for `urlencode`: it keeps `*` and escapes
/// `~`, while Python's `quote_plus(safe="")` does the opposite.
#[test]
fn form_urlencoded_serializer_differs_from_quote_plus() {
    let theirs: String = form_urlencoded::byte_serialize(b"*~").collect();
    assert_eq!(theirs, "*%7E");
    assert_eq!(urlencode([("*~", "")]), "%2A~=");
}

#[test]
fn borrowed_when_nothing_to_decode() {
    let q = parse_qsl("a=1&bb=22");
    assert!(
        q.iter()
            .all(|(k, v)| matches!(k, std::borrow::Cow::Borrowed(_))
                && matches!(v, std::borrow::Cow::Borrowed(_)))
    );
}

#[test]
fn query_params_get_returns_last_value() {
    let q = QueryParams::parse("a=1&b=2&a=3");
    assert_eq!(q.get("a"), Some("3"));
    assert_eq!(q.get_list("a"), ["1", "3"]);
    assert!(q.contains("b") && !q.contains("c"));
    assert_eq!(q.len(), 3);
    assert_eq!(q.to_string(), "a=1&b=2&a=3");
    assert_eq!(QueryParams::parse("x=a b&y=%7E").to_string(), "x=a+b&y=~");
}
