//! `multipart/form-data` bodies, fed whole and in random chunks: the parser never panics,
//! every split of the same body gives the same form (or the same error), and the limits
//! hold (fields no larger than `max_part_size`, no more parts than allowed).
#![no_main]

use std::io;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use tachyon_core::multipart::{
    FileSink, FormValue, Limits, MultipartParser, PartInfo, SinkFactory,
};

/// File parts kept in memory: the fuzzer must not create temporary files.
#[derive(Debug, Default)]
struct Memory(Vec<u8>);

impl FileSink for Memory {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct MemoryFactory;

impl SinkFactory for MemoryFactory {
    type Sink = Memory;
    fn create(&mut self, _part: &PartInfo<'_>) -> io::Result<Memory> {
        Ok(Memory::default())
    }
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    content_type: &'a str,
    body: &'a [u8],
    /// Chunk lengths, cycled (0 means 1).
    chunks: Vec<u8>,
    max_files: u8,
    max_fields: u8,
    max_part_size: u16,
}

type Outcome = Result<Vec<(String, Result<String, (String, Option<String>, Vec<u8>)>)>, String>;

fn run(input: &Input<'_>, limits: Limits, whole: bool) -> Option<Outcome> {
    let mut parser =
        MultipartParser::from_content_type(input.content_type, limits, MemoryFactory).ok()?;
    let fed = if whole || input.chunks.is_empty() {
        parser.feed(input.body)
    } else {
        let mut rest = input.body;
        let mut sizes = input.chunks.iter().cycle();
        let mut r = Ok(());
        while !rest.is_empty() {
            let n = (usize::from(*sizes.next().unwrap())).max(1).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            r = parser.feed(chunk);
            if r.is_err() {
                break;
            }
            rest = tail;
        }
        r
    };
    let form = fed.and_then(|()| parser.finish());
    Some(match form {
        Err(e) => Err(e.to_string()),
        Ok(form) => Ok(form
            .items
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    FormValue::Field(v) => Ok(v),
                    FormValue::File(f) => {
                        assert_eq!(f.size, f.sink.0.len() as u64);
                        Err((f.filename, f.content_type, f.sink.0))
                    }
                };
                (name, value)
            })
            .collect()),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let limits = Limits {
        max_files: usize::from(input.max_files),
        max_fields: usize::from(input.max_fields),
        max_part_size: usize::from(input.max_part_size),
    };
    let Some(whole) = run(&input, limits, true) else {
        return;
    };
    let chunked = run(&input, limits, false).expect("the same content type");
    assert_eq!(whole, chunked, "chunking changed the result");
    if let Ok(items) = &whole {
        let fields = items.iter().filter(|(_, v)| v.is_ok()).count();
        assert!(fields <= limits.max_fields);
        assert!(items.len() - fields <= limits.max_files);
    }
    // A body written by a well-formed client, with the fuzzed bytes as contents.
    let boundary = "fuzzBoundary";
    let mut body = Vec::new();
    for (i, piece) in input.body.split(|&b| b == 0xff).enumerate() {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if i % 2 == 0 {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"f{i}\"\r\n\r\n").as_bytes(),
            );
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"f{i}\"; filename=\"a{i}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let valid = Input {
        content_type: "multipart/form-data; boundary=fuzzBoundary",
        body: &body,
        chunks: input.chunks.clone(),
        max_files: 255,
        max_fields: 255,
        max_part_size: u16::MAX,
    };
    let big = Limits {
        max_files: 1000,
        max_fields: 1000,
        max_part_size: 1 << 20,
    };
    let whole = run(&valid, big, true).unwrap();
    assert_eq!(whole, run(&valid, big, false).unwrap());
    // Every part is read back byte for byte unless the content holds the delimiter.
    let pieces: Vec<&[u8]> = input.body.split(|&b| b == 0xff).collect();
    let delimiter = format!("\r\n--{boundary}");
    let clean = !body
        .windows(delimiter.len())
        .filter(|w| *w == delimiter.as_bytes())
        .nth(pieces.len())
        .is_some();
    if clean && pieces.len() <= 1000 {
        let items = whole.expect("a well-formed body parses");
        assert_eq!(items.len(), pieces.len());
        for ((_, value), piece) in items.iter().zip(&pieces) {
            match value {
                Ok(text) => {
                    // Fields are decoded as UTF-8, falling back to latin-1.
                    let expected = match std::str::from_utf8(piece) {
                        Ok(s) => s.to_owned(),
                        Err(_) => piece.iter().map(|&b| b as char).collect(),
                    };
                    assert_eq!(text, &expected);
                }
                Err((_, _, bytes)) => assert_eq!(bytes, piece),
            }
        }
    }
});
