//! tachyon-json against serde_json on the same data: writing (serde
//! `Serialize` of one `serde_json::Value`) and reading (into each crate's tree).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

/// The product's seed dict.
fn seed() -> Value {
    json!({"id": 123, "name": "Test", "items": [1, 2, 3, 4, 5], "metadata": {"key": "value"}})
}

/// API-response-like records: short keys, ASCII and non-ASCII strings,
/// ints, floats, booleans, nulls, nesting (deterministic).
fn records() -> Value {
    let items: Vec<Value> = (0..500)
        .map(|i| {
            json!({
                "id": i * 7919,
                "user": {"name": format!("user_{i}"), "screen_name": "ユーザー名", "verified": i % 3 == 0},
                "text": format!("Tweet number {i} with \"quotes\", a tab\t and emoji 🎉 and more text to escape"),
                "score": i as f64 * 0.37 + 0.001,
                "tags": ["json", "rust", "python"],
                "reply_to": null,
            })
        })
        .collect();
    Value::Array(items)
}

/// canada.json-like: arrays of coordinate pairs.
fn floats() -> Value {
    let mut x: u64 = 42;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 11) as f64 / (1u64 << 53) as f64) * 360.0 - 180.0
    };
    Value::Array((0..20_000).map(|_| json!([next(), next()])).collect())
}

fn bench(c: &mut Criterion) {
    for (name, doc) in [
        ("seed", seed()),
        ("records", records()),
        ("floats", floats()),
    ] {
        let text = serde_json::to_vec(&doc).unwrap();
        let mut g = c.benchmark_group(format!("json/{name}"));
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function("write/tachyon", |b| {
            b.iter(|| tachyon_json::to_vec(black_box(&doc)).unwrap())
        });
        g.bench_function("write/serde_json", |b| {
            b.iter(|| serde_json::to_vec(black_box(&doc)).unwrap())
        });
        g.bench_function("read/tachyon", |b| {
            b.iter(|| tachyon_json::from_slice(black_box(&text)).unwrap())
        });
        g.bench_function("read/serde_json", |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&text)).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
