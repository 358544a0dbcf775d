//! `Cookie` headers: parsing any bytes never panics; `http.cookies`' quoting round-trips
//! (`unquote(quote(v)) == v`); `Set-Cookie` rendering returns text or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_core::cookies::{SetCookie, parse_cookie_header, quote, unquote};

fuzz_target!(|data: (&[u8], &str, &str)| {
    let (raw, key, value) = data;
    let parsed = parse_cookie_header(raw);
    for (k, v) in &parsed {
        // Keys are stripped of (Python's) whitespace, a superset of Rust's; a pair is
        // never empty on both sides.
        assert_eq!(k.trim(), k);
        assert!(!k.is_empty() || !v.is_empty() || raw.contains(&b'"'));
    }
    assert_eq!(unquote(&quote(value)), value, "{value:?}");
    let mut cookie = SetCookie::new(key, value);
    cookie.path = Some(value.to_owned());
    let _ = cookie.render();
});
