//! The reader: a non-recursive parser that hands each value to a [`Sink`],
//! accepting exactly what Python's `json.loads` accepts.
//!
//! Finished values wait on one stack; when a container closes, the sink gets
//! its items as a draining iterator of known length, so it can presize.

use std::vec::Drain;

use crate::error::{Error, ErrorKind, ReadError};

/// Builds values as the reader meets them; the reader owns no tree.
pub trait Sink {
    /// A built value.
    type Value;
    /// Why the sink could not build a value.
    type Error;

    /// `null`.
    fn null(&mut self) -> Result<Self::Value, Self::Error>;
    /// `true` or `false`.
    fn bool(&mut self, v: bool) -> Result<Self::Value, Self::Error>;
    /// An integer that fits in an `i64`.
    fn int(&mut self, v: i64) -> Result<Self::Value, Self::Error>;
    /// An integer beyond `i64`, as its text (`-?[0-9]+`).
    fn big_int(&mut self, text: &str) -> Result<Self::Value, Self::Error>;
    /// A number with a fraction or exponent (or `NaN`, `Infinity`,
    /// `-Infinity`): its text and its correctly rounded value.
    fn float(&mut self, text: &str, v: f64) -> Result<Self::Value, Self::Error>;
    /// A string; `ascii` tells whether every byte is below 0x80.
    fn str(&mut self, s: &str, ascii: bool) -> Result<Self::Value, Self::Error>;
    /// A string holding `\uD800`-style lone surrogates, as WTF-8 (surrogates
    /// encoded like other code points). By default they become U+FFFD.
    fn str_with_surrogates(&mut self, wtf8: &[u8]) -> Result<Self::Value, Self::Error> {
        let s = String::from_utf8_lossy(wtf8);
        let ascii = s.is_ascii();
        self.str(&s, ascii)
    }
    /// An object key; by default the same as [`Sink::str`]. Override to cache keys.
    fn key(&mut self, s: &str, ascii: bool) -> Result<Self::Value, Self::Error> {
        self.str(s, ascii)
    }
    /// An object key holding lone surrogates (see [`Sink::str_with_surrogates`]).
    fn key_with_surrogates(&mut self, wtf8: &[u8]) -> Result<Self::Value, Self::Error> {
        self.str_with_surrogates(wtf8)
    }
    /// A closed array and its items, in order.
    fn array(&mut self, items: Drain<'_, Self::Value>) -> Result<Self::Value, Self::Error>;
    /// A closed object and its entries, in input order (duplicates included:
    /// the sink decides which one wins).
    fn object(&mut self, entries: Entries<'_, Self::Value>) -> Result<Self::Value, Self::Error>;
}

/// The `(key, value)` pairs of a closed object, draining the reader's stack.
#[derive(Debug)]
pub struct Entries<'a, V> {
    items: Drain<'a, V>,
}

impl<V> Iterator for Entries<'_, V> {
    type Item = (V, V);

    #[inline]
    fn next(&mut self) -> Option<(V, V)> {
        let k = self.items.next()?;
        let v = self.items.next()?;
        Some((k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.items.len() / 2;
        (n, Some(n))
    }
}

impl<V> ExactSizeIterator for Entries<'_, V> {}

/// Default limit on nesting depth.
pub const DEFAULT_MAX_DEPTH: usize = 1024;

/// Reader settings; [`Reader::parse`] runs it over one input.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    max_depth: usize,
    strict: bool,
    trailing_comma_errors: bool,
    allow_non_finite: bool,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            max_depth: DEFAULT_MAX_DEPTH,
            strict: true,
            trailing_comma_errors: false,
            allow_non_finite: true,
        }
    }
}

/// Parses `input` with default settings (depth 1024, strict strings).
pub fn parse<S: Sink>(input: &[u8], sink: &mut S) -> Result<S::Value, ReadError<S::Error>> {
    Reader::default().parse(input, sink)
}

impl Reader {
    /// A reader with the default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how deep containers may nest before [`ErrorKind::TooDeep`].
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Whether raw control characters in strings are errors (Python's `strict`).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether a `,` right before `]` or `}` is reported as its own error
    /// ([`ErrorKind::TrailingCommaInArray`] / [`ErrorKind::TrailingCommaInObject`],
    /// at the comma), as Python 3.13's `json` does; off by default, as in 3.11 and 3.12.
    pub fn trailing_comma_errors(mut self, on: bool) -> Self {
        self.trailing_comma_errors = on;
        self
    }

    /// Whether `NaN`, `Infinity`, `-Infinity` and numbers too large for a float (`1e400`,
    /// which Python reads as `inf`) are accepted, as Python's `json.loads` accepts them
    /// (the default). Off, the reader follows RFC 8259, which has no such values: the
    /// literals are [`ErrorKind::ExpectingValue`] and an overflowing number is
    /// [`ErrorKind::NumberOutOfRange`], both at the value's first byte. Checked while
    /// reading, in the same pass.
    pub fn allow_non_finite(mut self, on: bool) -> Self {
        self.allow_non_finite = on;
        self
    }

    /// Parses one JSON document, feeding `sink`.
    pub fn parse<S: Sink>(
        &self,
        input: &[u8],
        sink: &mut S,
    ) -> Result<S::Value, ReadError<S::Error>> {
        self.parse_reusing(input, sink, &mut Buffers::default())
    }

    /// [`Reader::parse`] with working memory kept from an earlier call: a caller that
    /// parses many small documents saves the allocations of a fresh reader each time
    /// (two of them were about 5% of loading a 70-byte object). `buffers` is left empty.
    pub fn parse_reusing<S: Sink>(
        &self,
        input: &[u8],
        sink: &mut S,
        buffers: &mut Buffers<S::Value>,
    ) -> Result<S::Value, ReadError<S::Error>> {
        let mut p = Parser {
            input,
            pos: 0,
            sink,
            scratch: core::mem::take(&mut buffers.scratch),
            max_depth: self.max_depth,
            strict: self.strict,
            allow_non_finite: self.allow_non_finite,
        };
        let result = p.run(&mut buffers.values, &mut buffers.frames);
        // After an error, unfinished values are dropped here, as a fresh reader would.
        buffers.values.clear();
        buffers.frames.clear();
        p.scratch.clear();
        buffers.scratch = core::mem::take(&mut p.scratch);
        match result {
            Err(ReadError::Syntax(e)) if self.trailing_comma_errors => {
                Err(ReadError::Syntax(e.with_trailing_comma(input)))
            }
            r => r,
        }
    }
}

/// A reader's working memory, reusable across calls ([`Reader::parse_reusing`]).
pub struct Buffers<V> {
    /// Finished values waiting for their container to close.
    values: Vec<V>,
    /// The open containers.
    frames: Vec<Frame>,
    /// Strings with escapes, decoded.
    scratch: Vec<u8>,
}

impl<V> Buffers<V> {
    /// Empty buffers (they grow on first use); `const`, so they can live in a static.
    pub const fn new() -> Self {
        Buffers {
            values: Vec::new(),
            frames: Vec::new(),
            scratch: Vec::new(),
        }
    }
}

impl<V> Default for Buffers<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> core::fmt::Debug for Buffers<V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Buffers")
            .field("values", &self.values.capacity())
            .field("frames", &self.frames.capacity())
            .field("scratch", &self.scratch.capacity())
            .finish()
    }
}

/// One open container: whether it is an object, and where its items start
/// on the value stack.
#[derive(Clone, Copy)]
struct Frame {
    object: bool,
    start: usize,
}

struct Parser<'a, 's, S: Sink> {
    input: &'a [u8],
    pos: usize,
    sink: &'s mut S,
    scratch: Vec<u8>,
    max_depth: usize,
    strict: bool,
    allow_non_finite: bool,
}

#[inline(always)]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

macro_rules! sink {
    ($e:expr) => {
        $e.map_err(ReadError::Sink)?
    };
}

fn err<E>(kind: ErrorKind, offset: usize) -> ReadError<E> {
    ReadError::Syntax(Error::new(kind, offset))
}

/// A string as parsed: a slice of input or scratch, and what it holds.
enum Str {
    /// Borrowed from the input at this range.
    Input(usize, usize, bool),
    /// In the scratch buffer; `ascii`, and whether it holds lone surrogates.
    Scratch(bool, bool),
}

impl<S: Sink> Parser<'_, '_, S> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        // Compact JSON: usually no whitespace at all.
        if let Some(&b) = self.input.get(self.pos) {
            if is_ws(b) {
                self.pos = skip_ws_run(self.input, self.pos + 1);
            }
        }
    }

    fn run(
        &mut self,
        values: &mut Vec<S::Value>,
        frames: &mut Vec<Frame>,
    ) -> Result<S::Value, ReadError<S::Error>> {
        values.reserve(64);
        self.skip_ws();
        'value: loop {
            // Parse one value (or open a container and loop for its first item).
            let start = self.pos;
            let Some(b) = self.peek() else {
                return Err(err(ErrorKind::ExpectingValue, start));
            };
            let v = match b {
                b'"' => {
                    let s = self.parse_string()?;
                    self.emit_str(s, false)?
                }
                b'[' => {
                    if frames.len() >= self.max_depth {
                        return Err(err(ErrorKind::TooDeep, start));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        sink!(self.sink.array(values.drain(values.len()..)))
                    } else {
                        frames.push(Frame {
                            object: false,
                            start: values.len(),
                        });
                        continue 'value;
                    }
                }
                b'{' => {
                    if frames.len() >= self.max_depth {
                        return Err(err(ErrorKind::TooDeep, start));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        let len = values.len();
                        sink!(self.sink.object(Entries {
                            items: values.drain(len..)
                        }))
                    } else {
                        frames.push(Frame {
                            object: true,
                            start: values.len(),
                        });
                        let key = self.parse_key()?;
                        values.push(key);
                        continue 'value;
                    }
                }
                b'-' | b'0'..=b'9' => self.parse_number()?,
                b't' if self.input[start..].starts_with(b"true") => {
                    self.pos += 4;
                    sink!(self.sink.bool(true))
                }
                b'f' if self.input[start..].starts_with(b"false") => {
                    self.pos += 5;
                    sink!(self.sink.bool(false))
                }
                b'n' if self.input[start..].starts_with(b"null") => {
                    self.pos += 4;
                    sink!(self.sink.null())
                }
                b'N' if self.allow_non_finite && self.input[start..].starts_with(b"NaN") => {
                    self.pos += 3;
                    sink!(self.sink.float("NaN", f64::NAN))
                }
                b'I' if self.allow_non_finite && self.input[start..].starts_with(b"Infinity") => {
                    self.pos += 8;
                    sink!(self.sink.float("Infinity", f64::INFINITY))
                }
                _ => return Err(err(ErrorKind::ExpectingValue, start)),
            };
            values.push(v);
            // Close every container this value completes.
            loop {
                let Some(frame) = frames.last().copied() else {
                    break 'value;
                };
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                        if frame.object {
                            let key = self.parse_key()?;
                            values.push(key);
                        }
                        continue 'value;
                    }
                    Some(b']') if !frame.object => {
                        self.pos += 1;
                        frames.pop();
                        let v = sink!(self.sink.array(values.drain(frame.start..)));
                        values.push(v);
                    }
                    Some(b'}') if frame.object => {
                        self.pos += 1;
                        frames.pop();
                        let v = sink!(self.sink.object(Entries {
                            items: values.drain(frame.start..)
                        }));
                        values.push(v);
                    }
                    _ => return Err(err(ErrorKind::ExpectingComma, self.pos)),
                }
            }
        }
        self.skip_ws();
        if self.pos != self.input.len() {
            return Err(err(ErrorKind::ExtraData, self.pos));
        }
        // Exactly one value is left: the document.
        values
            .pop()
            .ok_or_else(|| err(ErrorKind::ExpectingValue, 0))
    }

    /// Parses `"key"` `:` at the cursor (whitespace already skipped).
    #[inline]
    fn parse_key(&mut self) -> Result<S::Value, ReadError<S::Error>> {
        if self.peek() != Some(b'"') {
            return Err(err(ErrorKind::ExpectingKey, self.pos));
        }
        let s = self.parse_string()?;
        let key = self.emit_str(s, true)?;
        // Fast path for the common `"key":` with no whitespace.
        if self.peek() == Some(b':') {
            self.pos += 1;
        } else {
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(err(ErrorKind::ExpectingColon, self.pos));
            }
            self.pos += 1;
        }
        self.skip_ws();
        Ok(key)
    }

    #[inline(always)]
    fn emit_str(&mut self, s: Str, key: bool) -> Result<S::Value, ReadError<S::Error>> {
        let r = match s {
            Str::Input(a, b, ascii) => {
                // SAFETY: the range was validated as UTF-8 (or is ASCII) by parse_string.
                let text = unsafe { core::str::from_utf8_unchecked(&self.input[a..b]) };
                if key {
                    self.sink.key(text, ascii)
                } else {
                    self.sink.str(text, ascii)
                }
            }
            Str::Scratch(ascii, false) => {
                // SAFETY: scratch holds validated UTF-8 when no surrogates were decoded.
                let text = unsafe { core::str::from_utf8_unchecked(&self.scratch) };
                if key {
                    self.sink.key(text, ascii)
                } else {
                    self.sink.str(text, ascii)
                }
            }
            Str::Scratch(_, true) => {
                if key {
                    self.sink.key_with_surrogates(&self.scratch)
                } else {
                    self.sink.str_with_surrogates(&self.scratch)
                }
            }
        };
        r.map_err(ReadError::Sink)
    }

    /// Parses the string whose opening quote is at the cursor.
    #[inline]
    fn parse_string(&mut self) -> Result<Str, ReadError<S::Error>> {
        let open = self.pos;
        let first = open + 1;
        let (stop, non_ascii) = scan_string(self.input, first);
        if stop < self.input.len() && self.input[stop] == b'"' {
            if non_ascii {
                validate(self.input, first, stop)?;
            }
            self.pos = stop + 1;
            return Ok(Str::Input(first, stop, !non_ascii));
        }
        self.parse_string_slow(open, first, stop, non_ascii)
    }

    #[cold]
    fn parse_string_slow(
        &mut self,
        open: usize,
        mut from: usize,
        mut stop: usize,
        mut non_ascii: bool,
    ) -> Result<Str, ReadError<S::Error>> {
        let input = self.input;
        let len = input.len();
        let mut surrogates = false;
        self.scratch.clear();
        loop {
            if non_ascii {
                validate(input, from, stop)?;
            }
            self.scratch.extend_from_slice(&input[from..stop]);
            if stop >= len {
                return Err(err(ErrorKind::UnterminatedString, open));
            }
            let c = input[stop];
            if c == b'"' {
                self.pos = stop + 1;
                let ascii = !non_ascii && !surrogates && self.scratch.is_ascii();
                return Ok(Str::Scratch(ascii, surrogates));
            }
            if c != b'\\' {
                if self.strict {
                    return Err(err(ErrorKind::ControlCharacter, stop));
                }
                self.scratch.push(c);
                from = stop + 1;
            } else {
                let esc = stop + 1;
                let Some(&e) = input.get(esc) else {
                    return Err(err(ErrorKind::UnterminatedString, open));
                };
                let simple = match e {
                    b'"' => Some(b'"'),
                    b'\\' => Some(b'\\'),
                    b'/' => Some(b'/'),
                    b'b' => Some(0x08),
                    b'f' => Some(0x0c),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'u' => None,
                    _ => return Err(err(ErrorKind::InvalidEscape, stop)),
                };
                if let Some(byte) = simple {
                    self.scratch.push(byte);
                    from = esc + 1;
                } else {
                    // Python needs one more character after the four digits.
                    let mut end = esc + 5;
                    if end >= len {
                        return Err(err(ErrorKind::InvalidUnicodeEscape, esc));
                    }
                    let mut cp = hex4(&input[esc + 1..end])
                        .ok_or_else(|| err(ErrorKind::InvalidUnicodeEscape, esc))?;
                    if (0xD800..0xDC00).contains(&cp)
                        && end + 6 < len
                        && input[end] == b'\\'
                        && input[end + 1] == b'u'
                    {
                        let low = hex4(&input[end + 2..end + 6])
                            .ok_or_else(|| err(ErrorKind::InvalidUnicodeEscape, end + 1))?;
                        if (0xDC00..0xE000).contains(&low) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                            end += 6;
                        }
                    }
                    if (0xD800..0xE000).contains(&cp) {
                        surrogates = true;
                    }
                    push_wtf8(&mut self.scratch, cp);
                    from = end;
                }
            }
            let (s, na) = scan_string(input, from);
            stop = s;
            non_ascii = na;
        }
    }

    fn parse_number(&mut self) -> Result<S::Value, ReadError<S::Error>> {
        let b = self.input;
        let len = b.len();
        let start = self.pos;
        let mut i = start;
        let negative = b[i] == b'-';
        if negative {
            i += 1;
            if b[i..].starts_with(b"Infinity") {
                if !self.allow_non_finite {
                    return Err(err(ErrorKind::ExpectingValue, start));
                }
                self.pos = i + 8;
                return self
                    .sink
                    .float("-Infinity", f64::NEG_INFINITY)
                    .map_err(ReadError::Sink);
            }
        }
        let int_start = i;
        let mut mantissa: u64 = 0;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(&d) = b.get(i) {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    mantissa = mantissa.wrapping_mul(10).wrapping_add((d - b'0') as u64);
                    i += 1;
                }
            }
            _ => return Err(err(ErrorKind::ExpectingValue, start)),
        }
        let int_digits = i - int_start;
        let mut is_float = false;
        let mut frac_digits = 0usize;
        if i + 1 < len && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            is_float = true;
            i += 1;
            let f = i;
            while let Some(&d) = b.get(i) {
                if !d.is_ascii_digit() {
                    break;
                }
                mantissa = mantissa.wrapping_mul(10).wrapping_add((d - b'0') as u64);
                i += 1;
            }
            frac_digits = i - f;
        }
        let mut exp: i64 = 0;
        if i + 1 < len && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            let mut exp_negative = false;
            if j + 1 < len && (b[j] == b'+' || b[j] == b'-') {
                exp_negative = b[j] == b'-';
                j += 1;
            }
            if b[j].is_ascii_digit() {
                while let Some(&d) = b.get(j) {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    exp = (exp * 10 + (d - b'0') as i64).min(100_000);
                    j += 1;
                }
                if exp_negative {
                    exp = -exp;
                }
                is_float = true;
                i = j;
            }
        }
        self.pos = i;
        // SAFETY: the range holds only ASCII digits, signs, '.', 'e'.
        let text = unsafe { core::str::from_utf8_unchecked(&b[start..i]) };
        if !is_float {
            let r = if int_digits <= 18 {
                let v = mantissa as i64;
                self.sink.int(if negative { -v } else { v })
            } else if let Ok(v) = text.parse::<i64>() {
                self.sink.int(v)
            } else {
                self.sink.big_int(text)
            };
            return r.map_err(ReadError::Sink);
        }
        let digits = int_digits + frac_digits;
        let exp10 = exp - frac_digits as i64;
        // Clinger's fast path: an exact mantissa times an exact power of ten
        // rounds once, so the result is the correctly rounded value.
        let v = if digits <= 15 && (-22..=22).contains(&exp10) {
            let m = mantissa as f64;
            let v = if exp10 >= 0 {
                m * POW10[exp10 as usize]
            } else {
                m / POW10[(-exp10) as usize]
            };
            if negative { -v } else { v }
        } else {
            // Correctly rounded, as Python's float() is; text matches its grammar.
            let v = text.parse::<f64>().unwrap_or(f64::NAN);
            // Only here can a number overflow: the fast path's values are below 1e38.
            if !self.allow_non_finite && !v.is_finite() {
                return Err(err(ErrorKind::NumberOutOfRange, start));
            }
            v
        };
        self.sink.float(text, v).map_err(ReadError::Sink)
    }
}

static POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

fn hex4(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | d as u32;
    }
    Some(v)
}

/// Encodes a code point as UTF-8, surrogates included (WTF-8).
fn push_wtf8(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

#[inline]
fn validate<E>(input: &[u8], from: usize, to: usize) -> Result<(), ReadError<E>> {
    match core::str::from_utf8(&input[from..to]) {
        Ok(_) => Ok(()),
        Err(e) => Err(err(ErrorKind::InvalidUtf8, from + e.valid_up_to())),
    }
}

/// Index of the first non-whitespace byte at or after `pos` (pretty-printed
/// input has long runs of indentation: scanned 16 bytes at a time).
#[inline]
fn skip_ws_run(input: &[u8], mut pos: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        while pos + 16 <= input.len() {
            // SAFETY: 16 readable bytes at pos; SSE2 is baseline on x86-64.
            let mask = unsafe {
                let v = _mm_loadu_si128(input.as_ptr().add(pos).cast());
                let ws = _mm_or_si128(
                    _mm_or_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)),
                    ),
                    _mm_or_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8)),
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\t' as i8)),
                    ),
                );
                !(_mm_movemask_epi8(ws) as u32) & 0xFFFF
            };
            if mask != 0 {
                return pos + mask.trailing_zeros() as usize;
            }
            pos += 16;
        }
    }
    while let Some(&b) = input.get(pos) {
        if !is_ws(b) {
            break;
        }
        pos += 1;
    }
    pos
}

/// Finds the first `"`, `\` or control byte at or after `from` (or the input
/// length); also reports whether any byte before it is non-ASCII.
#[inline(always)]
pub(crate) fn scan_string(input: &[u8], from: usize) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        scan_sse2(input, from)
    }
    #[cfg(not(target_arch = "x86_64"))]
    scan_swar(input, from)
}

/// [`scan_string`] 16 bytes at a time (SSE2 is part of the x86-64 baseline).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scan_sse2(input: &[u8], mut pos: usize) -> (usize, bool) {
    use core::arch::x86_64::*;
    /// The masks of the bytes at `p` that end a plain run (quote, backslash, control
    /// character) and of those with the high bit set.
    ///
    /// # Safety
    /// 16 bytes are readable at `p`.
    #[inline(always)]
    unsafe fn chunk(p: *const u8) -> (u32, u32) {
        // SAFETY: 16 readable bytes at p (caller).
        unsafe {
            let v = _mm_loadu_si128(p.cast());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            let limit = _mm_set1_epi8(0x1f);
            let ctrl = _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
            let special = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), ctrl));
            (special as u32, _mm_movemask_epi8(v) as u32)
        }
    }
    let len = input.len();
    let mut high = 0u32;
    while pos + 16 <= len {
        // SAFETY: pos + 16 <= len.
        let (special, hi) = unsafe { chunk(input.as_ptr().add(pos)) };
        if special != 0 {
            let k = special.trailing_zeros();
            high |= hi & ((1u32 << k) - 1);
            return (pos + k as usize, high != 0);
        }
        high |= hi;
        pos += 16;
    }
    if pos < len {
        // Pad the tail with quotes so the stop is found by the input's end.
        let mut tail = [b'"'; 16];
        tail[..len - pos].copy_from_slice(&input[pos..]);
        // SAFETY: the stack buffer has 16 bytes.
        let (special, hi) = unsafe { chunk(tail.as_ptr()) };
        let k = special.trailing_zeros();
        high |= hi & ((1u32 << k) - 1);
        return ((pos + k as usize).min(len), high != 0);
    }
    (len, high != 0)
}

/// Portable scan, 8 bytes at a time.
#[allow(dead_code)]
pub(crate) fn scan_swar(input: &[u8], mut pos: usize) -> (usize, bool) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let len = input.len();
    let mut high = false;
    while pos + 8 <= len {
        let mut w = [0u8; 8];
        w.copy_from_slice(&input[pos..pos + 8]);
        let word = u64::from_le_bytes(w);
        let k = crate::escape::swar_first_pub(word);
        if k < 8 {
            high |= input[pos..pos + k].iter().any(|&b| b >= 0x80);
            return (pos + k, high);
        }
        high |= word & HIGH != 0;
        pos += 8;
    }
    while pos < len {
        let b = input[pos];
        if crate::escape::needs_escape(b) {
            return (pos, high);
        }
        high |= b >= 0x80;
        pos += 1;
    }
    (len, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanners_agree() {
        let inputs: Vec<Vec<u8>> = vec![
            b"abc\"".to_vec(),
            "ééééééééééééééééééé\\x".as_bytes().to_vec(),
            b"0123456789abcdefghijklmnopq\n".to_vec(),
            b"0123456789abcdef".to_vec(),
            "0123456789abcdeé".as_bytes().to_vec(),
            b"".to_vec(),
        ];
        for inp in &inputs {
            for from in 0..inp.len() {
                let a = scan_string(inp, from);
                let b = scan_swar(inp, from);
                assert_eq!(a, b, "{inp:?} from {from}");
            }
        }
    }
}
