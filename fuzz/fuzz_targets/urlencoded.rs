//! Differential: `application/x-www-form-urlencoded` bodies fed in random chunks to
//! `UrlencodedParser` against the `form_urlencoded` crate over the latin-1 text (Starlette
//! decodes the body as latin-1, then `unquote_plus`es), and the limits hold.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use tachyon_core::form::UrlencodedParser;
use tachyon_core::multipart::Limits;
use tachyon_core::query::latin1_to_string;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    body: &'a [u8],
    chunks: Vec<u8>,
    max_fields: u8,
    max_part_size: u16,
}

fn feed(
    p: &mut UrlencodedParser,
    body: &[u8],
    chunks: &[u8],
) -> Result<Vec<(String, String)>, String> {
    let mut rest = body;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = match sizes.next() {
            Some(&n) => usize::from(n).max(1).min(rest.len()),
            None => rest.len(),
        };
        let (chunk, tail) = rest.split_at(n);
        p.feed(chunk).map_err(|e| e.to_string())?;
        rest = tail;
    }
    p.finish().map_err(|e| e.to_string())
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let text = latin1_to_string(input.body);
    let reference: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let unlimited = Limits {
        max_files: 0,
        max_fields: usize::MAX,
        max_part_size: usize::MAX,
    };
    let mut p = UrlencodedParser::new(unlimited);
    let ours = feed(&mut p, input.body, &input.chunks).expect("no limit to break");
    assert_eq!(ours, reference);

    let limits = Limits {
        max_files: 0,
        max_fields: usize::from(input.max_fields),
        max_part_size: usize::from(input.max_part_size),
    };
    let mut p = UrlencodedParser::new(limits);
    let whole = feed(&mut p, input.body, &[]);
    let mut p = UrlencodedParser::new(limits);
    let chunked = feed(&mut p, input.body, &input.chunks);
    assert_eq!(whole, chunked, "chunking changed the result");
    if let Ok(items) = &whole {
        assert_eq!(items, &reference);
        assert!(items.len() <= limits.max_fields);
    }
    assert!(p.field_name().len() + p.field_value().len() <= limits.max_part_size.max(1) * 2 + 1);
});
