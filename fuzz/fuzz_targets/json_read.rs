//! The JSON reader on any bytes: a value or an error, never a panic or a stack overflow
//! (depth limits on and off); what it accepts writes and re-reads to the same value; and
//! everything `serde_json` (strict RFC 8259) accepts, it accepts too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_json::{Reader, ValueSink, from_slice, to_vec};

fuzz_target!(|data: &[u8]| {
    let mut sink = ValueSink;
    let _ = Reader::new()
        .max_depth(64)
        .strict(false)
        .parse(data, &mut sink);
    let _ = Reader::new()
        .trailing_comma_errors(true)
        .parse(data, &mut sink);
    let ours = from_slice(data);
    if let Ok(value) = &ours
        && let Ok(text) = to_vec(value)
    {
        let again = from_slice(&text).expect("the writer's output must parse");
        assert_eq!(&again, value, "{:?}", String::from_utf8_lossy(&text));
        assert_eq!(to_vec(&again).ok(), Some(text));
    }
    if serde_json::from_slice::<serde_json::Value>(data).is_ok() {
        assert!(
            ours.is_ok(),
            "serde_json accepts {:?}",
            String::from_utf8_lossy(data)
        );
    }
});
