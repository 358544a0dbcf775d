//! tachyon-core compression: one-shot gzip (libdeflate, zlib-rs at level 9) at levels 1, 6
//! and 9 on JSON, prose and random bytes, beside flate2 on zlib-rs (the streaming backend)
//! one-shot and C zlib's `compress2` at the same level (the deflate Python's `zlib` module,
//! and so Starlette's GZipMiddleware, runs); brotli and zstd at the default levels of
//! `CompressionMiddleware`; a streamed body in 64 KiB chunks; and `Accept-Encoding`
//! negotiation.
//!
//! The backend choice recorded in `tachyon_core::compress` came from this comparison (and a
//! run of each flate2 backend in turn, which one build cannot hold side by side).
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tachyon_core::compress::{Encoder, Encoding, compress, negotiate};

/// A deterministic pseudo-random stream (xorshift), so every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `len` bytes of JSON records, English-like prose or random bytes.
fn body(kind: &str, len: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(len + 256);
    match kind {
        "json" => {
            out.push(b'[');
            let mut id = 0;
            while out.len() < len {
                let r = rng.next();
                out.extend_from_slice(
                    format!(
                        "{{\"id\":{id},\"name\":\"user{}\",\"email\":\"u{}@example.com\",\"active\":{},\"score\":{}.{:03}}},",
                        r % 1_000_000,
                        (r >> 20) % 1_000_000,
                        r & 1 == 0,
                        (r >> 40) % 100,
                        (r >> 50) % 1000
                    )
                    .as_bytes(),
                );
                id += 1;
            }
        }
        "text" => {
            let words = [
                "the", "of", "and", "to", "in", "is", "that", "it", "was", "for", "on", "are",
                "as", "with", "they", "at", "be", "this", "from", "have", "or", "by", "one", "had",
                "not", "but", "what", "all", "were", "when", "we", "there", "can", "an", "your",
                "which", "their", "said", "if", "will", "each", "about", "how", "many", "some",
                "would", "other", "into", "more", "time", "could", "people", "water", "little",
                "words",
            ];
            while out.len() < len {
                out.extend_from_slice(words[(rng.next() % words.len() as u64) as usize].as_bytes());
                out.push(b' ');
            }
        }
        _ => {
            while out.len() < len {
                out.extend_from_slice(&rng.next().to_le_bytes());
            }
        }
    }
    out.truncate(len);
    out
}

/// flate2 on zlib-rs, one gzip member in one call (what the one-shot path used before
/// libdeflate; level 1 as zlib-rs's level 2, as the streaming encoder maps it).
fn zlib_rs(data: &[u8], level: i32) -> usize {
    use std::io::Write;
    let level = if level == 1 { 2 } else { level as u32 };
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        flate2::Compression::new(level),
    );
    encoder.write_all(data).expect("in-memory compression");
    encoder.finish().expect("in-memory compression").len()
}

/// C zlib's one-shot deflate (zlib format; the same work as gzip's but for the CRC).
fn c_zlib(data: &[u8], level: i32) -> usize {
    // SAFETY: `compressBound` sizes `dest` for any input; zlib writes at most `dest_len`
    // bytes and reads exactly `data.len()`.
    unsafe {
        let mut dest_len = libz_sys::compressBound(data.len() as libz_sys::uLong);
        let mut dest = vec![0u8; dest_len as usize];
        let rc = libz_sys::compress2(
            dest.as_mut_ptr(),
            &mut dest_len,
            data.as_ptr(),
            data.len() as libz_sys::uLong,
            level,
        );
        assert_eq!(rc, libz_sys::Z_OK);
        dest_len as usize
    }
}

fn gzip(c: &mut Criterion) {
    for (size, label) in [(32 * 1024, "32KiB"), (1024 * 1024, "1MiB")] {
        let mut g = c.benchmark_group(format!("gzip_{label}"));
        g.throughput(Throughput::Bytes(size as u64));
        if size > 64 * 1024 {
            g.sample_size(10);
        }
        for kind in ["json", "text", "random"] {
            let data = body(kind, size);
            for level in [1, 6, 9] {
                let id = format!("{kind}/L{level}");
                g.bench_function(BenchmarkId::new("tachyon", &id), |b| {
                    b.iter(|| {
                        compress(Encoding::Gzip, level, black_box(&data)).map(|out| out.len())
                    })
                });
                g.bench_function(BenchmarkId::new("zlib-rs", &id), |b| {
                    b.iter(|| zlib_rs(black_box(&data), level))
                });
                g.bench_function(BenchmarkId::new("C zlib", &id), |b| {
                    b.iter(|| c_zlib(black_box(&data), level))
                });
            }
        }
        g.finish();
    }
}

fn other_codings(c: &mut Criterion) {
    let data = body("json", 1024 * 1024);
    let mut g = c.benchmark_group("codings_1MiB_json");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    for (encoding, level) in [
        (Encoding::Zstd, 3),
        (Encoding::Brotli, 4),
        (Encoding::Gzip, 6),
    ] {
        g.bench_function(format!("{}/{level}", encoding.token()), |b| {
            b.iter(|| compress(encoding, level, black_box(&data)).map(|out| out.len()))
        });
    }
    g.finish();
}

fn streaming(c: &mut Criterion) {
    let data = body("json", 1024 * 1024);
    let mut g = c.benchmark_group("stream_1MiB_json_64KiB_chunks");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    for (encoding, level) in [
        (Encoding::Gzip, 6),
        (Encoding::Zstd, 3),
        (Encoding::Brotli, 4),
    ] {
        g.bench_function(format!("{}/{level}", encoding.token()), |b| {
            b.iter(|| {
                let mut encoder = Encoder::new(encoding, level).expect("valid level");
                let mut out = Vec::new();
                let chunks: Vec<&[u8]> = data.chunks(64 * 1024).collect();
                for (index, chunk) in chunks.iter().enumerate() {
                    encoder
                        .write(chunk, index + 1 == chunks.len(), &mut out)
                        .expect("in-memory compression");
                }
                out.len()
            })
        });
    }
    g.finish();
}

fn negotiation(c: &mut Criterion) {
    let preference = [Encoding::Zstd, Encoding::Brotli, Encoding::Gzip];
    let mut g = c.benchmark_group("negotiate");
    for header in ["gzip, deflate, br, zstd", "gzip;q=0.5, br;q=0.8, *;q=0.1"] {
        g.bench_function(header, |b| {
            b.iter(|| negotiate(black_box(header), &preference))
        });
    }
    g.finish();
}

criterion_group!(benches, gzip, other_codings, streaming, negotiation);
criterion_main!(benches);
