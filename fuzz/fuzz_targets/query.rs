//! Query strings: parsing any bytes never panics; `unquote_plus` agrees with the
//! `form_urlencoded` crate's decoder; `urlencode` output parses back to its pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_core::query::{
    QueryParams, latin1_to_string, parse_qsl, parse_query_bytes, unquote_plus, urlencode,
};

fuzz_target!(|data: &[u8]| {
    let pairs = parse_query_bytes(data);
    let text = latin1_to_string(data);
    assert_eq!(pairs.len(), parse_qsl(&text).len());
    let q = QueryParams::from_bytes(data);
    for (k, v) in q.items() {
        assert!(q.contains(k));
        assert!(q.get_list(k).contains(&v.as_str()));
    }
    // unquote_plus against form_urlencoded's value decoding (no `&` so one pair).
    if !text.contains('&') {
        let input = format!("k={text}");
        let reference: Vec<_> = form_urlencoded::parse(input.as_bytes()).collect();
        assert_eq!(reference.len(), 1);
        assert_eq!(unquote_plus(&text), reference[0].1, "{text:?}");
    }
    // What urlencode writes, parse_qsl reads back.
    let encoded = urlencode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let back: Vec<(String, String)> = parse_qsl(&encoded)
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(back, pairs, "{encoded:?}");
    let _ = q.to_string();
});
