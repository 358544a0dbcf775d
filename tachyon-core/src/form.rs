//! `application/x-www-form-urlencoded` bodies, parsed as Starlette's `FormParser` does, in
//! chunks and with its `max_fields` / `max_part_size` limits.
//!
//! Fields are split on `&` only, empty pieces skipped, a piece without `=` has the value `""`;
//! names and values are latin-1 decoded and then `unquote_plus`ed (so `%E2%82%AC` is `€`).
//! A field's size is its raw name plus value length, checked as the bytes arrive.
//!
//! ```
//! use tachyon_core::form::UrlencodedParser;
//! let mut p = UrlencodedParser::new(Default::default());
//! p.feed(b"a=1&b=x+").unwrap();
//! p.feed(b"y&c").unwrap();
//! assert_eq!(p.finish().unwrap(), [("a".into(), "1".into()), ("b".into(), "x y".into()), ("c".into(), "".into())]);
//! ```

use crate::error::FormError;
use crate::multipart::Limits;
use crate::query::{latin1_to_string, unquote_plus};

/// A chunked urlencoded form parser; memory is bounded by `max_part_size` plus one chunk.
#[derive(Debug, Clone)]
pub struct UrlencodedParser {
    limits: Limits,
    field: Vec<u8>,
    /// Where `=` is in `field`, once seen.
    equals: Option<usize>,
    items: Vec<(String, String)>,
    failed: bool,
}

impl UrlencodedParser {
    /// A parser with the given limits (`max_fields`, `max_part_size`; `max_files` is unused).
    pub fn new(limits: Limits) -> Self {
        UrlencodedParser {
            limits,
            field: Vec::new(),
            equals: None,
            items: Vec::new(),
            failed: false,
        }
    }

    /// Parses the next chunk of the body.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), FormError> {
        if self.failed {
            return Err(FormError::Invalid("the parser already failed"));
        }
        let r = self.feed_inner(chunk);
        self.failed = r.is_err();
        r
    }

    fn feed_inner(&mut self, mut chunk: &[u8]) -> Result<(), FormError> {
        while !chunk.is_empty() {
            let (piece, ended) = match memchr::memchr(b'&', chunk) {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            if self.equals.is_none() {
                if let Some(e) = memchr::memchr(b'=', piece) {
                    self.equals = Some(self.field.len() + e);
                }
            }
            self.field.extend_from_slice(piece);
            let size = self.field.len() - usize::from(self.equals.is_some());
            if size > self.limits.max_part_size {
                return Err(FormError::FieldTooLarge(self.limits.max_part_size));
            }
            match ended {
                Some(next) => {
                    self.end_field()?;
                    chunk = &chunk[next..];
                }
                None => break,
            }
        }
        Ok(())
    }

    fn end_field(&mut self) -> Result<(), FormError> {
        if self.field.is_empty() {
            return Ok(());
        }
        if self.items.len() >= self.limits.max_fields {
            return Err(FormError::TooManyFields(self.limits.max_fields));
        }
        let (name, value) = match self.equals.take() {
            Some(e) => (&self.field[..e], &self.field[e + 1..]),
            None => (&self.field[..], &[][..]),
        };
        let decode = |raw: &[u8]| unquote_plus(&latin1_to_string(raw)).into_owned();
        self.items.push((decode(name), decode(value)));
        self.field.clear();
        Ok(())
    }

    /// Ends the body and returns the fields in order.
    pub fn finish(mut self) -> Result<Vec<(String, String)>, FormError> {
        if self.failed {
            return Err(FormError::Invalid("the parser already failed"));
        }
        self.end_field()?;
        Ok(self.items)
    }
}

/// Parses a whole urlencoded body at once.
pub fn parse_urlencoded(body: &[u8], limits: Limits) -> Result<Vec<(String, String)>, FormError> {
    let mut p = UrlencodedParser::new(limits);
    p.feed(body)?;
    p.finish()
}
