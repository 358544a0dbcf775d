//! The urlencoded form parser against Starlette 1.10's FormParser (tests/data/form.json),
//! fed whole, byte by byte and split in two at every point.
mod common;
use common::*;
use serde_json::Value;
use tachyon_core::form::{UrlencodedParser, parse_urlencoded};
use tachyon_core::multipart::Limits;

#[test]
fn matches_starlette_form_parser() {
    for case in load("form.json") {
        let body = bytes(&case[0]);
        let mut l = Limits::default();
        if let Some(n) = case[1].get("max_fields").and_then(Value::as_u64) {
            l.max_fields = n as usize;
        }
        if let Some(n) = case[1].get("max_part_size").and_then(Value::as_u64) {
            l.max_part_size = n as usize;
        }
        let whole = parse_urlencoded(&body, l);
        let mut p = UrlencodedParser::new(l);
        let bytewise = body
            .iter()
            .try_for_each(|b| p.feed(std::slice::from_ref(b)))
            .and_then(|()| p.finish());
        // Every two-chunk split: a field inside one chunk is decoded from it, one that spans
        // chunks is accumulated; both must give the same answer.
        let splits = (0..=body.len().min(300)).map(|cut| {
            let mut p = UrlencodedParser::new(l);
            p.feed(&body[..cut])
                .and_then(|()| p.feed(&body[cut..]))
                .and_then(|()| p.finish())
        });
        for got in [whole, bytewise].into_iter().chain(splits) {
            match (case[2].get("ok"), got) {
                (Some(w), Ok(items)) => assert_eq!(items, pairs(w), "{body:?}"),
                (None, Err(e)) => assert_eq!(e.to_string(), s(&case[2]["error"]), "{body:?}"),
                (w, g) => panic!("{body:?}: python {w:?} rust {g:?}"),
            }
        }
    }
}
