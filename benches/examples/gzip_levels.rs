//! libdeflate's gzip output size and time at each of its levels (1-12) on the files named on
//! the command line: the libdeflate half of `benches/gzip_levels.py`, which writes the GZip
//! corpora of `benches/comprehensive_benchmark.py` to files, runs this and compares the
//! sizes with Python's zlib (Starlette's deflate) level by level.
//!
//! `cargo run --release -p tachyon-benches --example gzip_levels -- FILE...` prints one JSON
//! object per file: `{"file": ..., "sizes": [12 sizes], "ms": [12 best-of-N times]}`.
use std::time::Instant;

/// The best of a few runs of `f`, in milliseconds (at least 5 runs and about 0.3 s).
fn best_ms(mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    let started = Instant::now();
    let mut runs = 0;
    while runs < 5 || (started.elapsed().as_secs_f64() < 0.3 && runs < 200) {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
        runs += 1;
    }
    best
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: gzip_levels FILE...");
        std::process::exit(2);
    }
    for file in files {
        let data = match std::fs::read(&file) {
            Ok(data) => data,
            Err(err) => {
                eprintln!("{file}: {err}");
                std::process::exit(1);
            }
        };
        let mut sizes = Vec::new();
        let mut times = Vec::new();
        for level in 1..=12 {
            let Ok(lvl) = libdeflater::CompressionLvl::new(level) else {
                unreachable!("libdeflate accepts levels 1 to 12")
            };
            let mut compressor = libdeflater::Compressor::new(lvl);
            let mut out = vec![0u8; compressor.gzip_compress_bound(data.len())];
            let mut written = 0;
            times.push(best_ms(|| {
                written = compressor
                    .gzip_compress(&data, &mut out)
                    .unwrap_or_else(|_| unreachable!("the output is sized by the bound"));
            }));
            sizes.push(written);
        }
        let times: Vec<String> = times.iter().map(|t| format!("{t:.3}")).collect();
        println!(
            "{{\"file\": {file:?}, \"sizes\": {sizes:?}, \"ms\": [{}]}}",
            times.join(", ")
        );
    }
}
