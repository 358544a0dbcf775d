//! Reader behaviour: what Python's json.loads accepts and rejects, with its
//! messages and positions (byte offsets here; the binding converts to chars).

use tachyon_json::{ErrorKind, Reader, Value, from_slice};

fn err(input: &str) -> (ErrorKind, usize) {
    let e = from_slice(input.as_bytes()).unwrap_err();
    (e.kind(), e.offset())
}

#[test]
fn scalars() {
    assert_eq!(from_slice(b"null").unwrap(), Value::Null);
    assert_eq!(from_slice(b" true ").unwrap(), Value::Bool(true));
    assert_eq!(from_slice(b"false").unwrap(), Value::Bool(false));
    assert_eq!(from_slice(b"-0").unwrap(), Value::Int(0));
    assert_eq!(
        from_slice(b"-9223372036854775808").unwrap(),
        Value::Int(i64::MIN)
    );
    assert_eq!(
        from_slice(b"9223372036854775808").unwrap(),
        Value::BigInt("9223372036854775808".into())
    );
    assert_eq!(from_slice(b"-0.0").unwrap(), Value::Float(-0.0));
    assert_eq!(from_slice(b"1E400").unwrap(), Value::Float(f64::INFINITY));
    assert_eq!(
        from_slice(b"-Infinity").unwrap(),
        Value::Float(f64::NEG_INFINITY)
    );
    assert!(matches!(from_slice(b"NaN").unwrap(), Value::Float(f) if f.is_nan()));
    assert_eq!(from_slice(b"0.1").unwrap(), Value::Float(0.1));
    assert_eq!(
        from_slice(b"123456789.123456789e-5").unwrap(),
        Value::Float(1_234.567_891_234_568)
    );
}

#[test]
fn floats_are_correctly_rounded() {
    let cases = [
        "2.2250738585072011e-308",
        "1.7976931348623157e308",
        "5e-324",
        "0.30000000000000004",
        "9007199254740993",
        "9007199254740993.0",
        "1.00000000000000011102230246251565404236316680908203125",
    ];
    for text in cases {
        let want: f64 = text.parse().unwrap();
        match from_slice(text.as_bytes()).unwrap() {
            Value::Float(f) => assert_eq!(f.to_bits(), want.to_bits(), "{text}"),
            Value::Int(i) => assert_eq!(i.to_string(), text),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn strings_and_escapes() {
    let v = from_slice(br#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 \u2028""#).unwrap();
    assert_eq!(v, Value::Str("a\"\\/\u{8}\u{c}\n\r\té😀 \u{2028}".into()));
    // A lone surrogate becomes U+FFFD in the Value tree (Rust strings cannot hold it).
    assert_eq!(
        from_slice(br#""\ud800x""#).unwrap(),
        Value::Str("\u{fffd}\u{fffd}\u{fffd}x".into())
    );
    let long = format!("\"{}\"", "é漢🎉a".repeat(100));
    assert_eq!(
        from_slice(long.as_bytes()).unwrap(),
        Value::Str("é漢🎉a".repeat(100))
    );
}

#[test]
fn containers_keep_order_and_duplicates() {
    let v = from_slice(br#"{"b": [1, {"c": []}], "a": {}, "b": 2}"#).unwrap();
    let Value::Object(entries) = v else { panic!() };
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["b", "a", "b"]);
}

#[test]
fn python_error_messages_and_positions() {
    use ErrorKind::*;
    let cases: &[(&str, ErrorKind, usize)] = &[
        ("", ExpectingValue, 0),
        ("[1,]", ExpectingValue, 3),
        (r#"{"a":1,}"#, ExpectingKey, 7),
        ("[1 2]", ExpectingComma, 3),
        (r#"{"a" 1}"#, ExpectingColon, 5),
        ("{1:2}", ExpectingKey, 1),
        (r#""abc"#, UnterminatedString, 0),
        ("\"a\nb\"", ControlCharacter, 2),
        (r#""\x""#, InvalidEscape, 1),
        (r#""\u12""#, InvalidUnicodeEscape, 2),
        (r#""\ud800\uzzzz"   "#, InvalidUnicodeEscape, 8),
        ("1 2", ExtraData, 2),
        ("nul", ExpectingValue, 0),
        ("-", ExpectingValue, 0),
        ("01", ExtraData, 1),
        ("[1.]", ExpectingComma, 2),
        ("1e", ExtraData, 1),
        (r#""\"#, UnterminatedString, 0),
        ("[", ExpectingValue, 1),
        ("{", ExpectingKey, 1),
        (r#"{"a""#, ExpectingColon, 4),
        (r#""\u0041"#, InvalidUnicodeEscape, 2),
        ("[1]]", ExtraData, 3),
        ("{]", ExpectingKey, 1),
    ];
    for &(input, kind, offset) in cases {
        assert_eq!(err(input), (kind, offset), "{input:?}");
    }
}

#[test]
fn trailing_comma_errors_follow_python_3_13() {
    use ErrorKind::*;
    let read = |input: &str| match Reader::new()
        .trailing_comma_errors(true)
        .parse(input.as_bytes(), &mut tachyon_json::ValueSink)
    {
        Err(tachyon_json::ReadError::Syntax(e)) => (e.kind(), e.offset()),
        other => panic!("{input:?} parsed: {other:?}"),
    };
    // (input, kind, offset) as Python 3.13's json.loads reports them.
    let cases: &[(&str, ErrorKind, usize)] = &[
        ("[1,]", TrailingCommaInArray, 2),
        ("[1, \n ]", TrailingCommaInArray, 2),
        ("[[1,],2]", TrailingCommaInArray, 3),
        (r#"{"a":1,}"#, TrailingCommaInObject, 6),
        (r#"{"a":1 ,  }"#, TrailingCommaInObject, 7),
        (r#"{"a":[1,2,]}"#, TrailingCommaInArray, 9),
        // Not a trailing comma: the 3.11 errors stand.
        ("[1,,2]", ExpectingValue, 3),
        ("[,]", ExpectingValue, 1),
        ("{,}", ExpectingKey, 1),
        (r#"{"a":1,,}"#, ExpectingKey, 7),
        ("[1,}", ExpectingValue, 3),
        (r#"{"a":1,]"#, ExpectingKey, 7),
        (r#"{"a":]"#, ExpectingValue, 5),
        ("]", ExpectingValue, 0),
        ("[", ExpectingValue, 1),
    ];
    for &(input, kind, offset) in cases {
        assert_eq!(read(input), (kind, offset), "{input:?}");
    }
    assert_eq!(
        TrailingCommaInArray.message(),
        "Illegal trailing comma before end of array"
    );
}

#[test]
fn invalid_utf8_in_strings() {
    let e = from_slice(b"[\"ok\", \"\xc3\"]").unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::InvalidUtf8, 8));
}

#[test]
fn control_characters_allowed_when_not_strict() {
    let mut sink = tachyon_json::ValueSink;
    let v = Reader::new()
        .strict(false)
        .parse(b"\"a\tb\"", &mut sink)
        .unwrap();
    assert_eq!(v, Value::Str("a\tb".into()));
}

#[test]
fn ten_megabytes_of_brackets_is_an_error_not_a_crash() {
    let input = vec![b'['; 10 * 1024 * 1024];
    assert_eq!(from_slice(&input).unwrap_err().kind(), ErrorKind::TooDeep);
    let ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    assert!(from_slice(ok.as_bytes()).is_ok());
    let mut sink = tachyon_json::ValueSink;
    assert!(
        Reader::new()
            .max_depth(10)
            .parse(b"[[[[[[[[[[[]]]]]]]]]]]", &mut sink)
            .is_err()
    );
}

#[test]
fn value_round_trips_through_the_writer() {
    let input =
        br#"{"a":[1,-2,3.5,1e+16,"x\n",true,null,{}],"b":{"c":[]},"d":123456789012345678901234}"#;
    let v = from_slice(input).unwrap();
    assert_eq!(tachyon_json::to_vec(&v).unwrap(), input);
}

#[test]
fn reused_buffers_give_what_a_fresh_reader_gives() {
    let mut buffers = tachyon_json::Buffers::default();
    let reader = Reader::new();
    for input in [
        &br#"{"a":[1,2,{"b":"\u00e9\n"}]}"#[..],
        b"[[1,2],[3,",
        br#"["esc\"aped", {"k": null}]"#,
        b"{\"a\" 1}",
        b"[]",
    ] {
        let reused = reader.parse_reusing(input, &mut tachyon_json::ValueSink, &mut buffers);
        assert_eq!(reused, reader.parse(input, &mut tachyon_json::ValueSink));
    }
}

#[test]
fn rfc_8259_mode_rejects_non_finite_numbers_where_they_stand() {
    use ErrorKind::*;
    let strict = |input: &str| {
        Reader::new()
            .allow_non_finite(false)
            .parse(input.as_bytes(), &mut tachyon_json::ValueSink)
    };
    let rejected = |input: &str| match strict(input) {
        Err(tachyon_json::ReadError::Syntax(e)) => (e.kind(), e.offset()),
        other => panic!("{input:?} parsed: {other:?}"),
    };
    // (input, kind, offset): the value's first byte.
    let cases: &[(&str, ErrorKind, usize)] = &[
        ("NaN", ExpectingValue, 0),
        ("Infinity", ExpectingValue, 0),
        ("-Infinity", ExpectingValue, 0),
        ("[1, NaN]", ExpectingValue, 4),
        (r#"{"a": {"b": [Infinity]}}"#, ExpectingValue, 13),
        (r#"{"x":-Infinity}"#, ExpectingValue, 5),
        ("1e400", NumberOutOfRange, 0),
        ("[0, -1E400]", NumberOutOfRange, 4),
        (
            r#"{"big": 123456789012345678901234567890e300}"#,
            NumberOutOfRange,
            8,
        ),
        ("1.8e308", NumberOutOfRange, 0),
    ];
    for &(input, kind, offset) in cases {
        assert_eq!(rejected(input), (kind, offset), "{input:?}");
        // The default (Python's json.loads) still accepts every one of them.
        assert!(
            Reader::new()
                .parse(input.as_bytes(), &mut tachyon_json::ValueSink)
                .is_ok()
        );
    }
    // Finite extremes and underflow stay numbers.
    for (input, want) in [
        ("1.7976931348623157e308", f64::MAX),
        ("-1.7976931348623157e308", f64::MIN),
        ("1e-400", 0.0),
        ("5e-324", 5e-324),
    ] {
        assert_eq!(strict(input).unwrap(), Value::Float(want), "{input}");
    }
    assert_eq!(NumberOutOfRange.message(), "Number out of range");
}
