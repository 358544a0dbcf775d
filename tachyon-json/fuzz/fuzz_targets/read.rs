//! Feeds arbitrary bytes to the reader: it must return a value or an error,
//! never panic or overflow; and what it accepts must survive a write and
//! a second read unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_json::{Reader, Value, ValueSink, from_slice, to_vec};

fuzz_target!(|data: &[u8]| {
    let mut sink = ValueSink;
    let _ = Reader::new()
        .max_depth(64)
        .strict(false)
        .parse(data, &mut sink);
    if let Ok(value) = from_slice(data) {
        if let Ok(text) = to_vec(&value) {
            let again = from_slice(&text).expect("the writer's output must parse");
            // NaN never equals itself; compare the texts instead.
            assert_eq!(to_vec(&again).ok(), Some(text));
            let _: Value = again;
        }
    }
});
