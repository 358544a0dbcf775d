//! Header names and values: validation, latin-1 encoding, case-insensitive lookup and the
//! `Vary` merge take any input without panicking; what validation accepts holds no CR, LF
//! or NUL, and a stored value is found again under any casing of its name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_core::headers::{
    HeaderKey, Headers, encode_latin1, find_first, validate_name, validate_value,
};

/// A raw header list, as a client could send it.
type RawHeaders = Vec<(Vec<u8>, Vec<u8>)>;

fuzz_target!(|data: (&str, &[u8], &str, RawHeaders)| {
    let (name, value, text, raw) = data;
    if validate_value(value).is_ok() {
        assert!(!value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
    }
    let _ = validate_name(name.as_bytes());
    if let Ok(latin1) = encode_latin1(text) {
        assert_eq!(latin1.len(), text.chars().count());
    }
    let key = HeaderKey::new(name);
    let _ = key.lowered();
    let first = find_first(&raw, name);
    if let Some(found) = first {
        assert!(raw.iter().any(|(k, v)| v == found && key.matches(k)));
    }
    let mut headers = Headers::new();
    if headers.append(name, text).is_ok() {
        let upper = name.to_uppercase();
        assert!(
            headers.get(&upper).is_some()
                || upper.chars().count() != name.chars().count()
                || !upper.is_ascii()
        );
        assert!(headers.contains(name));
    }
    for (k, v) in &raw {
        let _ = headers.append_raw(k, v);
    }
    let _ = headers.add_vary_header(text);
    let _ = headers.setdefault(name, text);
    let _ = headers.get_all("vary").count();
    let _ = headers.keys().count();
    headers.remove(name);
    assert!(!headers.contains(name) || HeaderKey::new(name).lowered().is_none());
});
