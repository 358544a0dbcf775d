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
    /// The raw name of the field being read (all of it until its `=` is seen).
    name: Vec<u8>,
    /// Its raw value, after the `=`: kept apart so a large value becomes its String in place.
    value: Vec<u8>,
    /// Whether the field's `=` has been seen.
    equals: bool,
    items: Vec<(String, String)>,
    /// Fields ended so far, the refused one included (Starlette's `_current_fields`).
    fields: usize,
    failed: bool,
}

impl UrlencodedParser {
    /// A parser with the given limits (`max_fields`, `max_part_size`; `max_files` is unused).
    pub fn new(limits: Limits) -> Self {
        UrlencodedParser {
            limits,
            name: Vec::new(),
            value: Vec::new(),
            equals: false,
            items: Vec::new(),
            fields: 0,
            failed: false,
        }
    }

    /// How many fields have ended, counting one refused for `max_fields` (Starlette's
    /// `FormParser._current_fields`).
    pub fn fields_seen(&self) -> usize {
        self.fields
    }

    /// The raw name bytes of the field being read (before its `=`).
    pub fn field_name(&self) -> &[u8] {
        &self.name
    }

    /// The raw value bytes of the field being read (after its `=`): at a size error, what
    /// was accepted before the piece that went over (Starlette's `_field_value`).
    pub fn field_value(&self) -> &[u8] {
        &self.value
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
            let equals = if self.equals {
                None
            } else {
                memchr::memchr(b'=', piece)
            };
            // Checked before the piece is kept: a field over the limit is refused without
            // copying the rest of a large chunk.
            let size =
                self.name.len() + self.value.len() + piece.len() - usize::from(equals.is_some());
            if size > self.limits.max_part_size {
                return Err(FormError::FieldTooLarge(self.limits.max_part_size));
            }
            let fresh = self.name.is_empty() && !self.equals;
            if let (true, Some(next)) = (fresh, ended) {
                // A whole field inside this chunk: decoded from the chunk, not copied first.
                self.end_piece(piece, equals)?;
                chunk = &chunk[next..];
                continue;
            }
            match equals {
                Some(e) => {
                    self.name.extend_from_slice(&piece[..e]);
                    self.value.extend_from_slice(&piece[e + 1..]);
                    self.equals = true;
                }
                None if self.equals => self.value.extend_from_slice(piece),
                None => self.name.extend_from_slice(piece),
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

    /// Ends a field read whole from one chunk (`equals`: where its `=` is).
    fn end_piece(&mut self, raw: &[u8], equals: Option<usize>) -> Result<(), FormError> {
        if raw.is_empty() {
            return Ok(());
        }
        self.fields += 1;
        if self.items.len() >= self.limits.max_fields {
            return Err(FormError::TooManyFields(self.limits.max_fields));
        }
        let item = match equals {
            Some(e) => (decode(&raw[..e]), decode(&raw[e + 1..])),
            None => (decode(raw), String::new()),
        };
        self.items.push(item);
        Ok(())
    }

    fn end_field(&mut self) -> Result<(), FormError> {
        if self.name.is_empty() && !self.equals {
            return Ok(());
        }
        self.fields += 1;
        if self.items.len() >= self.limits.max_fields {
            return Err(FormError::TooManyFields(self.limits.max_fields));
        }
        let name = decode(&self.name);
        // The value is usually the big part: plain ASCII without escapes becomes the String
        // in its own buffer, not a copy of it.
        let value = if self.value.is_ascii() && memchr::memchr2(b'%', b'+', &self.value).is_none() {
            String::from_utf8(std::mem::take(&mut self.value)).unwrap_or_default()
        } else {
            decode(&self.value)
        };
        self.items.push((name, value));
        self.name.clear();
        self.value.clear();
        self.equals = false;
        Ok(())
    }

    /// Ends the body and returns the fields in order. The parser keeps its counters
    /// ([`fields_seen`](Self::fields_seen), the field being read) but accepts nothing more.
    pub fn finish(&mut self) -> Result<Vec<(String, String)>, FormError> {
        if self.failed {
            return Err(FormError::Invalid("the parser already failed"));
        }
        let r = self.end_field();
        self.failed = true;
        r.map(|()| std::mem::take(&mut self.items))
    }
}

/// Latin-1 decoded, then `unquote_plus`ed.
fn decode(raw: &[u8]) -> String {
    unquote_plus(&latin1_to_string(raw)).into_owned()
}

/// Parses a whole urlencoded body at once.
pub fn parse_urlencoded(body: &[u8], limits: Limits) -> Result<Vec<(String, String)>, FormError> {
    let mut p = UrlencodedParser::new(limits);
    p.feed(body)?;
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_fields: usize, max_part_size: usize) -> Limits {
        Limits {
            max_fields,
            max_part_size,
            ..Limits::default()
        }
    }

    #[test]
    fn counts_the_refused_field() {
        let body: String = (0..1000).map(|i| format!("f{i}=&")).collect();
        let mut p = UrlencodedParser::new(limits(10, 1024));
        assert!(matches!(
            p.feed(body.as_bytes()),
            Err(FormError::TooManyFields(10))
        ));
        assert_eq!(p.fields_seen(), 11);
        assert!(
            p.feed(b"x").is_err(),
            "a failed parser accepts nothing more"
        );
    }

    #[test]
    fn an_oversized_field_is_refused_before_it_is_copied() {
        let mut body = b"field=".to_vec();
        body.resize(1 << 20, b'x');
        let mut p = UrlencodedParser::new(limits(10, 1024));
        assert!(matches!(p.feed(&body), Err(FormError::FieldTooLarge(1024))));
        assert!(p.field_value().len() <= 1024 && p.field_name().len() <= 1024);

        // Across chunks: what fit is kept, the piece that went over is not.
        let mut p = UrlencodedParser::new(limits(10, 8));
        p.feed(b"ab=cd").unwrap();
        assert_eq!((p.field_name(), p.field_value()), (&b"ab"[..], &b"cd"[..]));
        assert!(p.feed(b"efghij").is_err());
        assert_eq!(p.field_value(), b"cd");
    }

    #[test]
    fn the_limit_counts_name_and_value_not_the_equals_sign() {
        let mut p = UrlencodedParser::new(limits(10, 4));
        p.feed(b"ab=cd").unwrap();
        assert_eq!(p.finish().unwrap(), [("ab".to_owned(), "cd".to_owned())]);
        assert_eq!(p.fields_seen(), 1);
        assert!(p.finish().is_err(), "finished once");
        let mut p = UrlencodedParser::new(limits(10, 4));
        assert!(p.feed(b"ab=cde").is_err());
    }
}
