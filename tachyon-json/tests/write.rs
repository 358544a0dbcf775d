//! Writer output: the bytes of Python's
//! json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).

use std::collections::BTreeMap;

use serde::Serialize;
use tachyon_json::{to_string, to_vec, write_f64, write_i64, write_str, write_u64};

#[test]
fn direct_api() {
    let mut out = Vec::new();
    write_str(&mut out, "a\"b\\c\n\u{1}\u{7f}\u{2028}é");
    out.push(b',');
    write_i64(&mut out, -42);
    out.push(b',');
    write_u64(&mut out, u64::MAX);
    out.push(b',');
    write_f64(&mut out, 1e-7);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\"a\\\"b\\\\c\\n\\u0001\u{7f}\u{2028}é\",-42,18446744073709551615,1e-07"
    );
}

#[derive(Serialize)]
struct Seed<'a> {
    id: u32,
    name: &'a str,
    items: Vec<i32>,
    metadata: BTreeMap<&'a str, &'a str>,
}

#[test]
fn serde_matches_starlette_output() {
    let seed = Seed {
        id: 123,
        name: "Test",
        items: vec![1, 2, 3, 4, 5],
        metadata: BTreeMap::from([("key", "value")]),
    };
    assert_eq!(
        to_string(&seed).unwrap(),
        r#"{"id":123,"name":"Test","items":[1,2,3,4,5],"metadata":{"key":"value"}}"#
    );
}

#[test]
fn serde_keys_and_enums() {
    let map = BTreeMap::from([(1, 1.5), (2, -0.0)]);
    assert_eq!(to_string(&map).unwrap(), r#"{"1":1.5,"2":-0.0}"#);
    let bools = BTreeMap::from([(false, ()), (true, ())]);
    assert_eq!(to_string(&bools).unwrap(), r#"{"false":null,"true":null}"#);

    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(u8, u8),
        Struct { a: u8 },
    }
    assert_eq!(
        to_string(&vec![
            E::Unit,
            E::New(1),
            E::Tuple(1, 2),
            E::Struct { a: 3 }
        ])
        .unwrap(),
        r#"["Unit",{"New":1},{"Tuple":[1,2]},{"Struct":{"a":3}}]"#
    );
    assert_eq!(
        to_string(&(Some(1u8), None::<u8>, 'x')).unwrap(),
        r#"[1,null,"x"]"#
    );
}

#[test]
fn serde_rejects_non_finite_floats() {
    let err = to_vec(&[f64::NAN]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Out of range float values are not JSON compliant"
    );
    assert!(to_vec(&BTreeMap::from([(vec![1], 1)])).is_err());
}

#[test]
fn float_repr_like_python() {
    let cases = [
        (1e16, "1e+16"),
        (1e-7, "1e-07"),
        (1.5e-5, "1.5e-05"),
        (123.0, "123.0"),
        (-0.0, "-0.0"),
        (1e300, "1e+300"),
        (0.0001, "0.0001"),
        (1e15, "1000000000000000.0"),
        (1.0 / 3.0, "0.3333333333333333"),
    ];
    for (v, want) in cases {
        assert_eq!(to_string(&v).unwrap(), want);
    }
    assert_eq!(to_string(&1.5f32).unwrap(), "1.5");
    assert_eq!(to_string(&1e-7f32).unwrap(), "1e-07");
}
