//! tachyon-core parsers: header lookup, query parse, cookie parse, 1 MB multipart parse.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tachyon_core::Headers;
use tachyon_core::cookies::cookie_parser;
use tachyon_core::multipart::{Limits, MultipartParser, SpoolFactory};
use tachyon_core::query::{parse_qsl, parse_query_bytes};

/// A browser-like request with 20 headers.
fn twenty_headers() -> Headers {
    let names = [
        "host",
        "connection",
        "cache-control",
        "sec-ch-ua",
        "sec-ch-ua-mobile",
        "sec-ch-ua-platform",
        "upgrade-insecure-requests",
        "user-agent",
        "accept",
        "sec-fetch-site",
        "sec-fetch-mode",
        "sec-fetch-user",
        "sec-fetch-dest",
        "referer",
        "accept-encoding",
        "accept-language",
        "cookie",
        "x-request-id",
        "x-forwarded-for",
        "content-type",
    ];
    Headers::from_pairs(names.iter().map(|n| (*n, format!("value-of-{n}")))).expect("valid")
}

fn headers(c: &mut Criterion) {
    let h = twenty_headers();
    let mut g = c.benchmark_group("headers_20");
    g.bench_function("get_first", |b| {
        b.iter(|| black_box(&h).get(black_box("host")))
    });
    g.bench_function("get_mid_mixed_case", |b| {
        b.iter(|| black_box(&h).get(black_box("User-Agent")))
    });
    g.bench_function("get_last", |b| {
        b.iter(|| black_box(&h).get(black_box("content-type")))
    });
    g.bench_function("contains_miss", |b| {
        b.iter(|| black_box(&h).contains(black_box("authorization")))
    });
    g.finish();
}

fn query(c: &mut Criterion) {
    let q = "page=2&per_page=50&sort=created&order=desc&q=rust+web&lang=en&tag=a&tag=b&from=2024-01-01&to=%E2%82%AC";
    let mut g = c.benchmark_group("query_10_pairs");
    g.bench_function("parse_qsl", |b| b.iter(|| parse_qsl(black_box(q))));
    g.bench_function("parse_query_bytes", |b| {
        b.iter(|| parse_query_bytes(black_box(q.as_bytes())))
    });
    g.finish();
}

fn cookies(c: &mut Criterion) {
    let s = "session=9f8e7d6c5b4a; csrftoken=abcdef0123456789; theme=dark; lang=en-US; \
             _ga=GA1.2.123456789.1700000000; quoted=\"a\\073b\"";
    c.bench_function("cookie_parser_6", |b| {
        b.iter(|| cookie_parser(black_box(s)))
    });
}

fn multipart_body() -> Vec<u8> {
    let mut body = Vec::with_capacity(1_050_000);
    for i in 0..3 {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nvalue {i}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    let mut x = 1u32;
    body.extend((0..1_000_000).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (x >> 16) as u8
    }));
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    body
}

fn multipart(c: &mut Criterion) {
    let body = multipart_body();
    let mut g = c.benchmark_group("multipart_1mb");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.sample_size(30);
    g.bench_function("64k_chunks", |b| {
        b.iter(|| {
            let mut p = MultipartParser::from_content_type(
                "multipart/form-data; boundary=XyZ",
                Limits::default(),
                SpoolFactory::default(),
            )
            .expect("boundary");
            for chunk in body.chunks(64 * 1024) {
                p.feed(chunk).expect("valid");
            }
            black_box(p.finish().expect("complete"))
        })
    });
    // The same body through `multer` (async, the usual Rust choice), driven by a trivial
    // executor; the file is collected into memory, as our spool does below 1 MiB.
    g.bench_function("multer_64k_chunks", |b| {
        b.iter(|| {
            let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
                .chunks(64 * 1024)
                .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
                .collect();
            let stream = futures_util::stream::iter(chunks);
            let mut mp = multer::Multipart::new(stream, "XyZ");
            futures_executor::block_on(async {
                let mut out = Vec::new();
                while let Some(mut field) = mp.next_field().await.expect("valid") {
                    let name = field.name().map(str::to_owned);
                    let mut data = Vec::new();
                    while let Some(chunk) = field.chunk().await.expect("valid") {
                        data.extend_from_slice(&chunk);
                    }
                    out.push((name, data));
                }
                black_box(out)
            })
        })
    });
    g.finish();
}

criterion_group!(benches, headers, query, cookies, multipart);
criterion_main!(benches);
