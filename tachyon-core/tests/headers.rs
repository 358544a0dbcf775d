//! Headers against Starlette 1.10's MutableHeaders: random operation sequences replayed from
//! tests/data/headers*.json, plus validation of app-set values.
mod common;
use bytes::Bytes;
use common::*;
use serde_json::Value;
use tachyon_core::{HeaderError, Headers};

fn raw_of(v: &Value) -> Vec<(Bytes, Bytes)> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|p| (Bytes::from(bytes(&p[0])), Bytes::from(bytes(&p[1]))))
        .collect()
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

#[test]
fn operation_sequences_match_starlette() {
    for seq in load("headers.json") {
        let mut h = Headers::from_raw(raw_of(&seq[0]));
        for op in seq[1].as_array().expect("ops") {
            let (name, value, expected) = (op[1].as_str().unwrap_or(""), s(&op[2]), &op[3]);
            match s(&op[0]) {
                "set" => h.set(name, value).expect("valid"),
                "append" => h.append(name, value).expect("valid"),
                "remove" => {
                    h.remove(name);
                }
                "setdefault" => assert_eq!(h.setdefault(name, value).expect("valid"), s(expected)),
                "get" => assert_eq!(h.get(name).map(latin1).as_deref(), expected.as_str()),
                "getlist" => {
                    let got: Vec<String> = h.get_all(name).map(latin1).collect();
                    let want: Vec<&str> =
                        expected.as_array().expect("list").iter().map(s).collect();
                    assert_eq!(got, want);
                }
                "contains" => assert_eq!(h.contains(name), expected.as_bool().expect("bool")),
                "vary" => h.add_vary_header(value).expect("valid"),
                // The mapping given to update was not recorded: adopt Starlette's state.
                "update" => h = Headers::from_raw(raw_of(&op[4])),
                other => panic!("unknown op {other}"),
            }
            assert_eq!(h.raw(), raw_of(&op[4]).as_slice(), "after {op}");
        }
    }
}

#[test]
fn update_matches_starlette() {
    for case in load("headers_update.json") {
        let mut h = Headers::from_raw(raw_of(&case[0]));
        h.update(pairs(&case[1])).expect("valid");
        assert_eq!(h.raw(), raw_of(&case[2]).as_slice());
    }
}

#[test]
fn get_returns_first_value_and_raw_names_compare_exactly() {
    let h = Headers::from_raw(vec![
        (Bytes::from_static(b"x"), Bytes::from_static(b"1")),
        (Bytes::from_static(b"X"), Bytes::from_static(b"upper")),
        (Bytes::from_static(b"x"), Bytes::from_static(b"2")),
    ]);
    assert_eq!(h.get("X"), Some(&b"1"[..]));
    assert_eq!(h.get_all("x").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
    assert_eq!(h.len(), 3);
    assert_eq!(h.keys().collect::<Vec<_>>(), ["x", "X", "x"]);
}

#[test]
fn app_set_values_reject_cr_lf_nul() {
    let mut h = Headers::new();
    for bad in ["a\rb", "a\nb", "a\0b"] {
        assert!(matches!(
            h.set("x", bad),
            Err(HeaderError::InvalidValueByte(_))
        ));
        assert!(matches!(
            h.append("x", bad),
            Err(HeaderError::InvalidValueByte(_))
        ));
        assert!(h.setdefault("x", bad).is_err());
        assert!(h.update([("x", bad)]).is_err());
    }
    assert!(matches!(h.set("x", "€"), Err(HeaderError::NotLatin1('€'))));
    assert!(matches!(
        h.set("a:b", "1"),
        Err(HeaderError::InvalidName(_))
    ));
    assert!(matches!(
        h.append_raw(b"", b"1"),
        Err(HeaderError::InvalidName(_))
    ));
    assert!(h.is_empty());
    assert_eq!(
        h.set("x", "a\r\nb").unwrap_err().to_string(),
        "invalid header value: byte 0x0d is not allowed"
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let all: Vec<u8> = (0..=255).collect();
    let h = Headers::from_raw(vec![(Bytes::from(all.clone()), Bytes::from(all.clone()))]);
    assert!(h.get("\u{ff}").is_none());
    assert!(h.get("€").is_none());
    assert_eq!(
        h.get_str(std::str::from_utf8(&all[..128]).unwrap())
            .map(|v| v.chars().count()),
        None
    );
    let mut h2 = h.clone();
    assert!(h2.set_raw(&all, b"v").is_err());
    assert_eq!(h2.remove("nothing"), 0);
}

#[test]
fn from_http_keeps_order_and_duplicates() {
    let mut m = http::HeaderMap::new();
    m.append("a", "1".parse().unwrap());
    m.append("b", "2".parse().unwrap());
    m.append("a", "3".parse().unwrap());
    let h = Headers::from_http(&m);
    assert_eq!(h.get_all("A").collect::<Vec<_>>(), [&b"1"[..], b"3"]);
}
