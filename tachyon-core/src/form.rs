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

use std::borrow::Cow;

use crate::error::FormError;
use crate::multipart::Limits;
use crate::query::{latin1_to_string, unquote_plus};

/// A chunked urlencoded form parser; memory is bounded by `max_part_size` plus one chunk.
///
/// [`feed`](Self::feed) / [`finish`](Self::finish) return the fields decoded;
/// [`feed_raw`](Self::feed_raw) / [`finish_raw`](Self::finish_raw) hand each field's raw
/// bytes to a callback instead (to be decoded with [`decode_field`] or straight into another
/// string type), without copying a field that lies whole in one chunk.
#[derive(Debug, Clone)]
pub struct UrlencodedParser {
    limits: Limits,
    /// The raw name of the field being read (all of it until its `=` is seen).
    name: Vec<u8>,
    /// Its raw value, after the `=`: kept apart so the value is handed on without a copy,
    /// and its buffer reused by the next field that spans chunks.
    value: Vec<u8>,
    /// Whether the field's `=` has been seen.
    equals: bool,
    /// The decoded fields [`feed`](Self::feed) has collected.
    items: Vec<(String, String)>,
    /// Fields accepted so far.
    accepted: usize,
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
            accepted: 0,
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

    /// Parses the next chunk of the body; the fields it ends are decoded and kept for
    /// [`finish`](Self::finish).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), FormError> {
        let mut items = std::mem::take(&mut self.items);
        let r = self.feed_raw(chunk, &mut |name, value| {
            items.push((
                decode_field(name).into_owned(),
                decode_field(value).into_owned(),
            ));
        });
        self.items = items;
        r
    }

    /// Parses the next chunk of the body, calling `on_field(raw name, raw value)` for each
    /// field it ends, in order (a field without `=` has an empty value). The bytes are as
    /// sent: [`decode_field`] gives the text Starlette's parser does.
    pub fn feed_raw(
        &mut self,
        chunk: &[u8],
        on_field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<(), FormError> {
        if self.failed {
            return Err(FormError::Invalid("the parser already failed"));
        }
        let r = self.feed_inner(chunk, Tail::Copy, on_field).map(|_| ());
        self.failed = r.is_err();
        r
    }

    /// [`feed_raw`](Self::feed_raw), except that a field which starts in this chunk and does
    /// not end in it is neither copied nor counted yet (its size is checked): returns where
    /// it starts, `chunk.len()` when there is none. The caller then passes `&chunk[at..]`
    /// either to `feed_raw` before the next chunk, or to
    /// [`finish_raw_with`](Self::finish_raw_with) when the body ends there; a field that
    /// ends the body is then handed on from the chunk it came in, never copied.
    pub fn feed_raw_deferring(
        &mut self,
        chunk: &[u8],
        on_field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<usize, FormError> {
        if self.failed {
            return Err(FormError::Invalid("the parser already failed"));
        }
        let r = self.feed_inner(chunk, Tail::Defer, on_field);
        self.failed = r.is_err();
        r
    }

    /// Parses `chunk`; returns the offset of a deferred tail (see `feed_raw_deferring`).
    fn feed_inner(
        &mut self,
        chunk: &[u8],
        tail: Tail,
        on_field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<usize, FormError> {
        let mut rest = chunk;
        while !rest.is_empty() {
            let (piece, ended) = match memchr::memchr(b'&', rest) {
                Some(i) => (&rest[..i], Some(i + 1)),
                // The body's last bytes: the field ends with them.
                None if matches!(tail, Tail::Last) => (rest, Some(rest.len())),
                None => (rest, None),
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
            match (fresh, ended) {
                (true, Some(next)) => {
                    // A whole field inside this chunk: handed on from the chunk, not copied.
                    self.end_piece(piece, equals, on_field)?;
                    rest = &rest[next..];
                    continue;
                }
                (true, None) if matches!(tail, Tail::Defer) => {
                    return Ok(chunk.len() - rest.len());
                }
                _ => {}
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
                    self.end_field(on_field)?;
                    rest = &rest[next..];
                }
                None => break,
            }
        }
        Ok(chunk.len())
    }

    /// Counts a field that ends; refuses it when `max_fields` fields were accepted already.
    fn accept(&mut self) -> Result<(), FormError> {
        self.fields += 1;
        if self.accepted >= self.limits.max_fields {
            return Err(FormError::TooManyFields(self.limits.max_fields));
        }
        self.accepted += 1;
        Ok(())
    }

    /// Ends a field read whole from one chunk (`equals`: where its `=` is).
    fn end_piece(
        &mut self,
        raw: &[u8],
        equals: Option<usize>,
        on_field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<(), FormError> {
        if raw.is_empty() {
            return Ok(());
        }
        self.accept()?;
        match equals {
            Some(e) => on_field(&raw[..e], &raw[e + 1..]),
            None => on_field(raw, b""),
        }
        Ok(())
    }

    fn end_field(&mut self, on_field: &mut impl FnMut(&[u8], &[u8])) -> Result<(), FormError> {
        if self.name.is_empty() && !self.equals {
            return Ok(());
        }
        self.accept()?;
        on_field(&self.name, &self.value);
        // Cleared, not freed: the next field spanning chunks reuses the buffers.
        self.name.clear();
        self.value.clear();
        self.equals = false;
        Ok(())
    }

    /// Ends the body and returns the fields in order. The parser keeps its counters
    /// ([`fields_seen`](Self::fields_seen), the field being read) but accepts nothing more.
    pub fn finish(&mut self) -> Result<Vec<(String, String)>, FormError> {
        let mut items = std::mem::take(&mut self.items);
        let r = self.finish_raw(&mut |name, value| {
            items.push((
                decode_field(name).into_owned(),
                decode_field(value).into_owned(),
            ));
        });
        r.map(|()| items)
    }

    /// Ends the body, calling `on_field` for the last field if there is one (see
    /// [`feed_raw`](Self::feed_raw)). The parser accepts nothing more afterwards.
    pub fn finish_raw(&mut self, on_field: &mut impl FnMut(&[u8], &[u8])) -> Result<(), FormError> {
        self.finish_raw_with(b"", on_field)
    }

    /// Ends the body with `last` as its final bytes: `feed_raw(last)` then `finish_raw()`,
    /// except that fields lying whole in `last` are handed on without being copied.
    pub fn finish_raw_with(
        &mut self,
        last: &[u8],
        on_field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<(), FormError> {
        if self.failed {
            return Err(FormError::Invalid("the parser already failed"));
        }
        let r = self
            .feed_inner(last, Tail::Last, on_field)
            .and_then(|_| self.end_field(on_field));
        self.failed = true;
        r
    }
}

/// What [`UrlencodedParser::feed_inner`] does with a chunk's bytes after its last `&`.
#[derive(Debug, Clone, Copy)]
enum Tail {
    /// Kept (copied) as the start of the field the next chunk continues.
    Copy,
    /// Left in the chunk when they start a field: the caller feeds them again.
    Defer,
    /// The body ends with them: they end the field.
    Last,
}

/// The raw name and value of a field that is not finished (all of it is the name until
/// its `=`): what [`UrlencodedParser::field_name`] and `field_value` would show for a
/// field `feed_raw_deferring` left in its chunk.
pub fn split_field(raw: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'=', raw) {
        Some(e) => (&raw[..e], &raw[e + 1..]),
        None => (raw, b""),
    }
}

/// Whether a raw field name or value holds a `%` or `+`, which [`decode_field`] unquotes:
/// without them its text is the bytes read as latin-1.
pub fn has_escapes(raw: &[u8]) -> bool {
    memchr::memchr2(b'%', b'+', raw).is_some()
}

/// A raw field name or value as Starlette decodes it: latin-1, then `unquote_plus` (so
/// `%E2%82%AC` is `€`). Borrowed when it is ASCII without `%` or `+`.
pub fn decode_field(raw: &[u8]) -> Cow<'_, str> {
    match latin1_to_string(raw) {
        Cow::Borrowed(text) => unquote_plus(text),
        Cow::Owned(text) => Cow::Owned(unquote_plus(&text).into_owned()),
    }
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
    fn raw_fields_are_handed_on_as_sent() {
        let mut got: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut on_field = |name: &[u8], value: &[u8]| got.push((name.to_vec(), value.to_vec()));
        let mut p = UrlencodedParser::new(limits(10, 1024));
        p.feed_raw(b"a+b=%41&&c&d=x", &mut on_field).unwrap();
        p.feed_raw(b"y&e=1=2", &mut on_field).unwrap();
        p.finish_raw(&mut on_field).unwrap();
        let want: [(&[u8], &[u8]); 4] =
            [(b"a+b", b"%41"), (b"c", b""), (b"d", b"xy"), (b"e", b"1=2")];
        assert_eq!(got.len(), want.len());
        for ((name, value), (w_name, w_value)) in got.iter().zip(want) {
            assert_eq!((&name[..], &value[..]), (w_name, w_value));
        }
        assert_eq!(p.fields_seen(), 4);
        assert_eq!(decode_field(b"a+b%E2%82%AC"), "a b\u{20ac}");
        assert_eq!(decode_field(b"\xe9+"), "\u{e9} ");
        assert!(matches!(decode_field(b"plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn a_deferred_tail_is_parsed_as_if_it_had_been_fed() {
        let body: &[u8] = b"a=1&bb=2%21&c=xyz&d&e=5";
        for cut in 0..=body.len() {
            for whole_end in [false, true] {
                let mut got = Vec::new();
                let mut on_field = |n: &[u8], v: &[u8]| {
                    got.push((decode_field(n).into_owned(), decode_field(v).into_owned()))
                };
                let mut p = UrlencodedParser::new(limits(10, 1024));
                let first = &body[..cut];
                let at = p.feed_raw_deferring(first, &mut on_field).unwrap();
                let tail = &first[at..];
                if whole_end && cut == body.len() {
                    p.finish_raw_with(tail, &mut on_field).unwrap();
                } else {
                    p.feed_raw(tail, &mut on_field).unwrap();
                    let at = p.feed_raw_deferring(&body[cut..], &mut on_field).unwrap();
                    p.finish_raw_with(&body[cut + at..], &mut on_field).unwrap();
                }
                let want = parse_urlencoded(body, limits(10, 1024)).unwrap();
                assert_eq!(got, want, "cut at {cut}");
                assert_eq!(p.fields_seen(), 5);
            }
        }
        // The deferred field's size is checked when it arrives.
        let mut p = UrlencodedParser::new(limits(10, 4));
        assert!(matches!(
            p.feed_raw_deferring(b"a=1&name=long", &mut |_, _| ()),
            Err(FormError::FieldTooLarge(4))
        ));
        assert_eq!(split_field(b"n=v=w"), (&b"n"[..], &b"v=w"[..]));
        assert_eq!(split_field(b"n"), (&b"n"[..], &b""[..]));
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
