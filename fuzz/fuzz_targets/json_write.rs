//! The JSON writer on arbitrary trees: it writes every finite value (and refuses NaN and
//! the infinities, as `allow_nan=False` does); its output is valid JSON for `serde_json`
//! and reads back to the same tree.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tachyon_json::{Value, from_slice, to_vec};

fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kind = if depth > 8 {
        u.int_in_range(0..=5)?
    } else {
        u.int_in_range(0..=7)?
    };
    Ok(match kind {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Int(u.arbitrary()?),
        3 => {
            let v: i128 = u.arbitrary()?;
            if i64::try_from(v).is_ok() {
                Value::Int(v as i64)
            } else {
                Value::BigInt(v.to_string())
            }
        }
        4 => Value::Float(f64::from_bits(u.arbitrary()?)),
        5 => Value::Str(u.arbitrary()?),
        6 => {
            let mut items = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                items.push(value(u, depth + 1)?);
            }
            Value::Array(items)
        }
        _ => {
            let mut entries = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                entries.push((u.arbitrary()?, value(u, depth + 1)?));
            }
            Value::Object(entries)
        }
    })
}

fn finite(v: &Value) -> bool {
    match v {
        Value::Float(f) => f.is_finite(),
        Value::Array(items) => items.iter().all(finite),
        Value::Object(entries) => entries.iter().all(|(_, v)| finite(v)),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(tree) = value(&mut Unstructured::new(data), 0) else {
        return;
    };
    match to_vec(&tree) {
        Err(_) => assert!(!finite(&tree), "refused a finite tree {tree:?}"),
        Ok(text) => {
            assert!(finite(&tree), "wrote a non-finite float");
            serde_json::from_slice::<serde_json::Value>(&text).unwrap_or_else(|e| {
                panic!("invalid JSON {:?}: {e}", String::from_utf8_lossy(&text))
            });
            assert_eq!(from_slice(&text).expect("reads back"), tree);
        }
    }
});
