//! The multipart parser against Starlette 1.10 + python-multipart 0.0.34 (tests/data/multipart.json),
//! each body fed in chunks of many sizes; plus truncation, spooling and limits.
mod common;
use std::io;

use bytes::Bytes;
use common::*;
use serde_json::Value;
use tachyon_core::FormError;
use tachyon_core::multipart::{
    FileSink, FormData, FormValue, Limits, MultipartParser, PartInfo, SinkFactory, SpoolFactory,
    SpooledFile, parse_options_header,
};

fn limits(v: &Value) -> Limits {
    let mut l = Limits::default();
    let get = |k: &str| v.get(k).and_then(Value::as_u64).map(|n| n as usize);
    l.max_files = get("max_files").unwrap_or(l.max_files);
    l.max_fields = get("max_fields").unwrap_or(l.max_fields);
    l.max_part_size = get("max_part_size").unwrap_or(l.max_part_size);
    l
}

fn parse_in_chunks(
    ct: &str,
    body: &[u8],
    l: Limits,
    chunk: usize,
) -> Result<FormData<SpooledFile>, FormError> {
    let mut p = MultipartParser::from_content_type(ct, l, SpoolFactory { max_memory: 1000 })?;
    for c in body.chunks(chunk.max(1)) {
        p.feed(c)?;
    }
    p.finish()
}

fn to_json(form: &FormData<SpooledFile>) -> Value {
    let items = form.items.iter().map(|(k, v)| match v {
        FormValue::Field(s) => serde_json::json!([k, s]),
        FormValue::File(f) => {
            let headers: Vec<Value> = f
                .headers
                .iter()
                .map(|(a, b)| serde_json::json!([a.to_vec(), b.to_vec()]))
                .collect();
            serde_json::json!([k, {"filename": f.filename, "content_type": f.content_type,
                "headers": headers, "data": f.sink.read_all().expect("readable")}])
        }
    });
    Value::Array(items.collect())
}

#[test]
fn matches_starlette_at_every_chunk_size() {
    for case in load("multipart.json") {
        let (label, ct, body, l, want) = (
            s(&case[0]),
            s(&case[1]),
            bytes(&case[2]),
            limits(&case[3]),
            &case[4],
        );
        for chunk in [1, 2, 3, 5, 7, 13, 64, 1000, body.len()] {
            let got = parse_in_chunks(ct, &body, l, chunk);
            match (want.get("ok"), got) {
                (Some(w), Ok(form)) => assert_eq!(&to_json(&form), w, "{label} chunk {chunk}"),
                (None, Err(e)) => {
                    let w = s(&want["error"]);
                    if w == "Invalid multipart data." {
                        assert!(
                            e.to_string().starts_with("Invalid multipart data"),
                            "{label}: {e}"
                        );
                    } else {
                        assert_eq!(e.to_string(), w, "{label}");
                    }
                }
                (w, g) => panic!(
                    "{label} chunk {chunk}: python {w:?} rust {:?}",
                    g.map(|f| to_json(&f))
                ),
            }
        }
    }
}

/// 300 random bodies whose contents are full of boundary fragments. Where Starlette accepts a
/// body without its closing boundary (dropping the last part), we must say Truncated instead.
#[test]
fn random_bodies_match_starlette() {
    for case in load("multipart_random.json") {
        let (ct, body, l, want) = (s(&case[1]), bytes(&case[2]), limits(&case[3]), &case[4]);
        let closed = body.ends_with(b"--BOUND--\r\n");
        for chunk in [1, 3, 16, body.len()] {
            let got = parse_in_chunks(ct, &body, l, chunk);
            match (want.get("ok"), got) {
                (_, Err(FormError::Truncated)) if !closed => {}
                (Some(w), Ok(form)) => assert_eq!(&to_json(&form), w, "{body:?} chunk {chunk}"),
                (None, Err(e)) => {
                    let w = s(&want["error"]);
                    assert!(
                        e.to_string().starts_with(w.trim_end_matches('.')),
                        "{body:?}: {e} vs {w}"
                    );
                }
                (w, g) => panic!(
                    "{body:?} chunk {chunk}: python {w:?} rust {:?}",
                    g.map(|f| to_json(&f))
                ),
            }
        }
    }
}

const CT: &str = "multipart/form-data; boundary=B";

fn full_body() -> Vec<u8> {
    let mut b =
        b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n".to_vec();
    b.extend(std::iter::repeat_n(b'z', 5000));
    b.extend_from_slice(b"\r\n--B--\r\n");
    b
}

/// Starlette 1.10 accepts a body cut off mid-file and drops the file; we refuse it.
#[test]
fn truncated_body_is_an_error_at_every_cut() {
    let body = full_body();
    let close = body.len() - b"--\r\n".len();
    for cut in 1..close {
        let got = parse_in_chunks(CT, &body[..cut], Limits::default(), 97);
        assert!(
            matches!(got, Err(FormError::Truncated)),
            "cut at {cut}: {:?}",
            got.map(|f| f.items.len())
        );
    }
    assert!(parse_in_chunks(CT, &body, Limits::default(), 97).is_ok());
}

#[test]
fn large_file_spools_to_disk_and_memory_stays_bounded() {
    let body = full_body();
    let mut p = MultipartParser::from_content_type(
        CT,
        Limits::default(),
        SpoolFactory { max_memory: 1000 },
    )
    .unwrap();
    for c in body.chunks(100) {
        p.feed(c).unwrap();
    }
    let form = p.finish().unwrap();
    let FormValue::File(f) = &form.items[0].1 else {
        panic!("file expected")
    };
    assert!(f.sink.is_on_disk());
    assert_eq!(f.size, 5000);
    assert_eq!(f.sink.read_all().unwrap(), vec![b'z'; 5000]);
    assert_eq!(f.sink.read_range(4990, 100).unwrap(), vec![b'z'; 10]);
    assert!(f.sink.read_range(9999, 10).unwrap().is_empty());
    let mut small = SpooledFile::new(100);
    small.write(b"abcdef").unwrap();
    assert_eq!(small.read_range(2, 3).unwrap(), b"cde");
    assert!(small.read_range(u64::MAX, usize::MAX).unwrap().is_empty());
}

#[test]
fn default_limits_are_starlettes() {
    assert_eq!(
        Limits::default(),
        Limits {
            max_files: 1000,
            max_fields: 1000,
            max_part_size: 1024 * 1024
        }
    );
    let mut body = Vec::new();
    for i in 0..1001 {
        body.extend_from_slice(
            format!("--B\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(b"--B--");
    let e = parse_in_chunks(CT, &body, Limits::default(), 4096).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Too many fields. Maximum number of fields is 1000."
    );
}

#[test]
fn oversized_part_headers_are_refused() {
    let mut body = b"--B\r\nX: ".to_vec();
    body.extend(std::iter::repeat_n(b'a', 100_000));
    let e = parse_in_chunks(CT, &body, Limits::default(), 4096).unwrap_err();
    assert!(matches!(e, FormError::Invalid(_)));
}

/// A sink chosen by the caller (here: counting bytes), as the Python binding does.
#[test]
fn custom_sink_receives_file_bytes() {
    struct Count(usize);
    impl FileSink for Count {
        fn write(&mut self, d: &[u8]) -> io::Result<()> {
            self.0 += d.len();
            Ok(())
        }
    }
    struct Make(Vec<String>);
    impl SinkFactory for Make {
        type Sink = Count;
        fn create(&mut self, part: &PartInfo<'_>) -> io::Result<Count> {
            self.0.push(format!("{}:{}", part.name, part.filename));
            Ok(Count(0))
        }
    }
    let mut p =
        MultipartParser::from_content_type(CT, Limits::default(), Make(Vec::new())).unwrap();
    p.feed(&full_body()).unwrap();
    let form = p.finish().unwrap();
    let FormValue::File(f) = &form.items[0].1 else {
        panic!("file expected")
    };
    assert_eq!(f.sink.0, 5000);
}

#[test]
fn failing_sink_is_an_io_error() {
    struct Full;
    impl FileSink for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<()> {
            Err(io::Error::other("disk full"))
        }
    }
    struct MakeFull;
    impl SinkFactory for MakeFull {
        type Sink = Full;
        fn create(&mut self, _: &PartInfo<'_>) -> io::Result<Full> {
            Ok(Full)
        }
    }
    let mut p = MultipartParser::from_content_type(CT, Limits::default(), MakeFull).unwrap();
    assert!(matches!(p.feed(&full_body()), Err(FormError::Io(_))));
    assert!(p.feed(b"more").is_err());
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let alphabet = b"-B\r\n:;=\"xContent-Disposition form-data name filename";
    for _ in 0..3000 {
        let len = (seed % 200) as usize;
        let mut body = Vec::with_capacity(len);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            body.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let _ = parse_in_chunks(CT, &body, Limits::default(), 1 + (seed % 17) as usize);
    }
    for ct in [
        "",
        ";",
        "multipart/form-data; boundary=",
        "a;\"b;c\";d=\"",
        ";;;\"\\\";x",
    ] {
        let _ = parse_options_header(ct);
        let _ = parse_in_chunks(ct, b"--\r\n", Limits::default(), 1);
    }
    let _ = Bytes::new();
}

/// `parse_options_header` is a literal port of python-multipart's (with its quote-aware `;`
/// splitting); checked on ~3000 generated headers.
#[test]
fn parse_options_header_matches_python_multipart() {
    for case in load("options_header.json") {
        let input = s(&case[0]);
        let (v, opts) = parse_options_header(input);
        assert_eq!(v, s(&case[1][0]), "{input:?}");
        assert_eq!(opts, pairs(&case[1][1]), "{input:?}");
    }
}

/// File content is handed on straight from each fed chunk: a chunk of content with no
/// possible delimiter start in it reaches the sink whole (one write per chunk, nothing held
/// back), and a tail that might begin a delimiter waits for the next chunk.
#[test]
fn file_content_is_written_from_each_chunk_whole() {
    struct Writes(Vec<usize>);
    impl FileSink for Writes {
        fn write(&mut self, d: &[u8]) -> io::Result<()> {
            self.0.push(d.len());
            Ok(())
        }
    }
    struct Make;
    impl SinkFactory for Make {
        type Sink = Writes;
        fn create(&mut self, _: &PartInfo<'_>) -> io::Result<Writes> {
            Ok(Writes(Vec::new()))
        }
    }
    let ct = "multipart/form-data; boundary=XyZ";
    let mut p = MultipartParser::from_content_type(ct, Limits::default(), Make).unwrap();
    p.feed(b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n")
        .unwrap();
    p.feed(&[b'a'; 1000]).unwrap();
    p.feed(&[b'b'; 1000]).unwrap();
    // Ends with what could begin "\r\n--XyZ": held back, then content after all.
    let mut tricky = vec![b'c'; 998];
    tricky.extend_from_slice(b"\r\n");
    p.feed(&tricky).unwrap();
    p.feed(b"-x").unwrap();
    p.feed(b"\r\n--XyZ--\r\n").unwrap();
    let form = p.finish().unwrap();
    let FormValue::File(f) = &form.items[0].1 else {
        panic!("file expected")
    };
    assert_eq!(f.sink.0, [1000, 1000, 998, 4]);
}
