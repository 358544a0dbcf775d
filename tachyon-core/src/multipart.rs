//! A streaming `multipart/form-data` parser with bounded memory and Starlette's limits.
//!
//! Feed the body in chunks split anywhere; field parts are kept in memory (up to
//! `max_part_size`), file parts are written to a [`FileSink`] made by a [`SinkFactory`] as the
//! bytes arrive, so memory stays bounded by the chunk size plus the part headers. The default
//! [`SpoolFactory`] keeps a file in memory up to 1 MiB, then moves it to an anonymous temporary
//! file, like Starlette's `UploadFile` over `SpooledTemporaryFile(max_size=1 MiB)`.
//!
//! Unlike Starlette 1.10, a body cut off before the closing boundary is an error
//! ([`FormError::Truncated`]), not a silently dropped file.
//!
//! Why our own parser rather than `multer`: on the same 1 MB body, in the same criterion run,
//! `multer` took about 3.5-8x longer (`benches/benches/core.rs`, `multipart_1mb`); it is
//! async-only (a runtime and a `Stream` for what is a synchronous byte transform); it has no
//! `max_files` / `max_fields` limits; and Starlette compatibility needs python-multipart's
//! leniencies reproduced exactly (a delimiter not followed by CRLF or `--` is content, the
//! IE6 full-path filename, `parse_options_header`'s quote handling), which the differential
//! tests in `tests/multipart.rs` pin down.
//!
//! ```
//! use tachyon_core::multipart::{FormValue, MultipartParser, SpoolFactory};
//! let body = b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
//! --XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"t.txt\"\r\n\
//! Content-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n";
//! let mut p = MultipartParser::from_content_type(
//!     "multipart/form-data; boundary=XX", Default::default(), SpoolFactory::default()).unwrap();
//! for chunk in body.chunks(7) {
//!     p.feed(chunk).unwrap();
//! }
//! let form = p.finish().unwrap();
//! assert!(matches!(&form.items[0].1, FormValue::Field(v) if v == "1"));
//! let FormValue::File(f) = &form.items[1].1 else { panic!() };
//! assert_eq!((f.filename.as_str(), f.content_type.as_deref(), f.size), ("t.txt", Some("text/plain"), 5));
//! assert_eq!(f.sink.read_all().unwrap(), b"hello");
//! ```

use std::io::{self, Read, Seek, SeekFrom, Write};

use bytes::Bytes;
use memchr::memmem::Finder;

use crate::error::FormError;
use crate::query::latin1_to_string;

/// Limits on a form, with Starlette's defaults (1000 files, 1000 fields, 1 MiB per field part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most file parts accepted.
    pub max_files: usize,
    /// The most non-file parts accepted.
    pub max_fields: usize,
    /// The largest non-file part, in bytes (file parts are not limited, as in Starlette).
    pub max_part_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 1000,
            max_fields: 1000,
            max_part_size: 1024 * 1024,
        }
    }
}

/// How names, file names and field values are decoded: `charset` from the Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8, falling back to latin-1 for text that is not valid UTF-8 (Starlette's default).
    Utf8,
    /// Latin-1 (also used for `ascii` and unknown charsets, which gives the same text).
    Latin1,
}

impl Charset {
    /// Maps a `charset` parameter to a decoder, as Starlette's `codecs.lookup` fallback does.
    ///
    /// Only UTF-8 and latin-1 (with `ascii`, which decodes identically here) are exact; other
    /// codecs Python knows (e.g. `utf-16`, `cp1252`) are read as latin-1.
    pub fn from_label(label: &str) -> Charset {
        let l = label.trim().to_ascii_lowercase().replace('_', "-");
        if matches!(l.as_str(), "utf-8" | "utf8" | "u8" | "utf" | "cp65001") {
            Charset::Utf8
        } else {
            Charset::Latin1
        }
    }

    /// Decodes bytes like Starlette's `_user_safe_decode`.
    pub fn decode(self, raw: &[u8]) -> String {
        match (self, std::str::from_utf8(raw)) {
            (Charset::Utf8, Ok(s)) => s.to_owned(),
            _ => latin1_to_string(raw).into_owned(),
        }
    }
}

/// Where the bytes of one uploaded file go.
pub trait FileSink {
    /// Stores the next piece of the file.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;
    /// Called once the part is complete.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Makes a [`FileSink`] for each file part; the binding implements it to choose the storage.
pub trait SinkFactory {
    /// The sink type.
    type Sink: FileSink;
    /// Creates the sink for a file part whose headers have just been read.
    fn create(&mut self, part: &PartInfo<'_>) -> io::Result<Self::Sink>;
}

/// What is known about a file part when its sink is created.
#[derive(Debug, Clone, Copy)]
pub struct PartInfo<'a> {
    /// The form field name.
    pub name: &'a str,
    /// The file name sent by the client.
    pub filename: &'a str,
    /// The part's headers (names lowercased).
    pub headers: &'a [(Bytes, Bytes)],
}

/// A file kept in memory up to a threshold, then moved to an anonymous temporary file that the
/// OS deletes when it is closed (also on error or drop).
#[derive(Debug)]
pub struct SpooledFile {
    memory: Vec<u8>,
    file: Option<std::fs::File>,
    max_memory: usize,
    size: u64,
}

impl SpooledFile {
    /// An empty file that spills to disk past `max_memory` bytes.
    pub fn new(max_memory: usize) -> Self {
        SpooledFile {
            memory: Vec::new(),
            file: None,
            max_memory,
            size: 0,
        }
    }

    /// The number of bytes written.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the content has moved to a temporary file.
    pub fn is_on_disk(&self) -> bool {
        self.file.is_some()
    }

    /// Reads the whole content back.
    pub fn read_all(&self) -> io::Result<Vec<u8>> {
        match &self.file {
            None => Ok(self.memory.clone()),
            Some(f) => {
                let mut f = f.try_clone()?;
                f.seek(SeekFrom::Start(0))?;
                let mut out = Vec::new();
                f.read_to_end(&mut out)?;
                Ok(out)
            }
        }
    }

    /// Up to `max` bytes starting at `offset` (for `UploadFile.read(size)`-style access).
    pub fn read_range(&self, offset: u64, max: usize) -> io::Result<Vec<u8>> {
        match &self.file {
            None => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(self.memory.len());
                let end = start.saturating_add(max).min(self.memory.len());
                Ok(self.memory[start..end].to_vec())
            }
            Some(f) => {
                let mut f = f.try_clone()?;
                f.seek(SeekFrom::Start(offset))?;
                let mut out = Vec::new();
                f.take(max as u64).read_to_end(&mut out)?;
                Ok(out)
            }
        }
    }

    /// The temporary file, if the content is on disk.
    pub fn file(&self) -> Option<&std::fs::File> {
        self.file.as_ref()
    }

    /// The content, if it is still in memory.
    pub fn memory(&self) -> Option<&[u8]> {
        self.file.is_none().then_some(self.memory.as_slice())
    }
}

impl FileSink for SpooledFile {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if self.file.is_none() && self.memory.len() + data.len() > self.max_memory {
            let mut f = tempfile::tempfile()?;
            f.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(f);
        }
        match &mut self.file {
            Some(f) => f.write_all(data)?,
            None => self.memory.extend_from_slice(data),
        }
        self.size += data.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Makes a [`SpooledFile`] per file part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolFactory {
    /// Bytes kept in memory before spilling to disk (Starlette: 1 MiB).
    pub max_memory: usize,
}

impl Default for SpoolFactory {
    fn default() -> Self {
        SpoolFactory {
            max_memory: 1024 * 1024,
        }
    }
}

impl SinkFactory for SpoolFactory {
    type Sink = SpooledFile;
    fn create(&mut self, _part: &PartInfo<'_>) -> io::Result<SpooledFile> {
        Ok(SpooledFile::new(self.max_memory))
    }
}

/// An uploaded file part.
#[derive(Debug)]
pub struct FilePart<S> {
    /// The file name sent by the client.
    pub filename: String,
    /// The part's Content-Type, if sent.
    pub content_type: Option<String>,
    /// The part's headers (names lowercased), as Starlette's `UploadFile.headers`.
    pub headers: Vec<(Bytes, Bytes)>,
    /// The number of content bytes.
    pub size: u64,
    /// Where the content was written.
    pub sink: S,
}

/// One form value: text, or a file.
#[derive(Debug)]
pub enum FormValue<S> {
    /// A non-file field, decoded text.
    Field(String),
    /// A file part.
    File(FilePart<S>),
}

/// The parsed form: `(name, value)` items in body order, like Starlette's `FormData`.
#[derive(Debug)]
pub struct FormData<S> {
    /// The items, in order.
    pub items: Vec<(String, FormValue<S>)>,
}

/// Python-multipart's `parse_options_header`: the lowercased value and its `key=value`
/// parameters (quotes removed, `\\` and `\"` unescaped, `key*` parameters ignored, the
/// IE6 full-path `filename` reduced to its last component); later duplicates win.
///
/// ```
/// use tachyon_core::multipart::parse_options_header;
/// let (v, p) = parse_options_header("Multipart/Form-Data; boundary=\"a;b\"; charset=utf-8");
/// assert_eq!(v, "multipart/form-data");
/// assert_eq!(p, [("boundary".to_string(), "a;b".to_string()), ("charset".into(), "utf-8".into())]);
/// ```
pub fn parse_options_header(value: &str) -> (String, Vec<(String, String)>) {
    if value.is_empty() {
        return (String::new(), Vec::new());
    }
    if !value.contains(';') {
        return (
            value.to_lowercase().trim_matches([' ', '\t']).to_owned(),
            Vec::new(),
        );
    }
    let parts = parse_param(value);
    let mut options: Vec<(String, String)> = Vec::new();
    for seg in parts.iter().skip(1) {
        let (key, val) = seg.split_once('=').unwrap_or((seg.as_str(), ""));
        if key.contains('*') {
            continue;
        }
        let mut val = val.to_owned();
        if val.chars().count() >= 2 && val.starts_with('"') && val.ends_with('"') {
            val = val[1..val.len() - 1]
                .replace("\\\\", "\\")
                .replace("\\\"", "\"");
        }
        if key == "filename" {
            let chars: Vec<char> = val.chars().collect();
            if chars.get(1..3) == Some(&[':', '\\']) || chars.get(0..2) == Some(&['\\', '\\']) {
                val = val.rsplit('\\').next().unwrap_or("").to_owned();
            }
        }
        match options.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = val,
            None => options.push((key.to_owned(), val)),
        }
    }
    let ctype = parts.first().map_or(String::new(), |c| c.to_lowercase());
    (ctype, options)
}

/// Python's `str.count(sub, start, end)` with slice semantics for negative or large bounds.
fn py_count(s: &[char], pat: &[char], start: isize, end: isize) -> usize {
    let n = s.len() as isize;
    let norm = |i: isize| if i < 0 { (i + n).max(0) } else { i.min(n) } as usize;
    let (a, b) = (norm(start), norm(end));
    if a > b || b - a < pat.len() {
        return 0;
    }
    let mut count = 0;
    let mut i = a;
    while i + pat.len() <= b {
        if s[i..i + pat.len()] == *pat {
            count += 1;
            i += pat.len();
        } else {
            i += 1;
        }
    }
    count
}

fn py_find(s: &[char], c: char, start: isize) -> isize {
    let start = start.max(0) as usize;
    s.get(start..)
        .and_then(|t| t.iter().position(|&x| x == c))
        .map_or(-1, |p| (p + start) as isize)
}

/// A literal port of python-multipart's `_parseparam` (vendored from `email.message`).
fn parse_param(value: &str) -> Vec<String> {
    let s: Vec<char> = std::iter::once(';').chain(value.chars()).collect();
    let n = s.len() as isize;
    let mut out = Vec::new();
    let mut start: isize = 0;
    while py_find(&s, ';', start) == start {
        start += 1;
        let mut end = py_find(&s, ';', start);
        let (mut ind, mut diff) = (start, 0isize);
        // Bounded: Python's loop always ends, this guards against a port mistake.
        let mut guard = 0;
        while end > 0 && guard <= s.len() * 2 + 4 {
            guard += 1;
            diff += py_count(&s, &['"'], ind, end) as isize
                - py_count(&s, &['\\', '"'], ind, end) as isize;
            if diff % 2 == 0 {
                break;
            }
            let next = py_find(&s, ';', end + 1);
            end = ind;
            ind = next;
        }
        if end < 0 {
            end = n;
        }
        let seg: String = match s[start as usize..end as usize]
            .iter()
            .position(|&c| c == '=')
        {
            None => s[start as usize..end as usize].iter().collect(),
            Some(p) => {
                let i = start as usize + p;
                let k: String = s[start as usize..i].iter().collect();
                let v: String = s[i + 1..end as usize].iter().collect();
                format!(
                    "{}={}",
                    k.trim_end_matches([' ', '\t']).to_lowercase(),
                    v.trim_start_matches([' ', '\t'])
                )
            }
        };
        out.push(seg.trim_matches([' ', '\t']).to_owned());
        start = end;
    }
    out
}

/// Reads `boundary` and `charset` from a multipart Content-Type, as Starlette's parser does.
pub fn boundary_from_content_type(content_type: &str) -> Result<(Vec<u8>, Charset), FormError> {
    let (_, params) = parse_options_header(content_type);
    let get = |k: &str| {
        params
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    };
    let charset = get("charset").map_or(Charset::Utf8, Charset::from_label);
    let boundary = get("boundary").ok_or(FormError::MissingBoundary)?;
    let bytes: Vec<u8> = boundary.chars().map(|c| u32::from(c) as u8).collect();
    if bytes.is_empty() || boundary.chars().any(|c| u32::from(c) > 255) {
        return Err(FormError::Invalid("the boundary is empty or not latin-1"));
    }
    if bytes.len() > MAX_BOUNDARY {
        return Err(FormError::Invalid("the boundary is longer than 256 bytes"));
    }
    Ok((bytes, charset))
}

/// python-multipart's limit on headers per part.
const MAX_HEADER_COUNT: usize = 8;
/// python-multipart's limit on one header line (name, colon and value).
const MAX_HEADER_SIZE: usize = 4096 + 128;
/// The most bytes a part's header block can span: 8 maximal headers and their CRLFs.
const MAX_PART_HEADER: usize = MAX_HEADER_COUNT * (MAX_HEADER_SIZE + 2) + 2;
/// python-multipart's limit on the boundary length.
const MAX_BOUNDARY: usize = 256;

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    AfterBoundary,
    /// Spaces or tabs after a delimiter between parts, before its CRLF.
    Padding,
    Headers,
    Body,
    End,
}

enum Current<S> {
    None,
    Field { name: String, data: Vec<u8> },
    File { name: String, part: FilePart<S> },
}

/// The streaming parser: [`MultipartParser::feed`] chunks, then [`MultipartParser::finish`].
pub struct MultipartParser<F: SinkFactory> {
    factory: F,
    limits: Limits,
    charset: Charset,
    /// `\r\n--boundary`.
    delimiter: Vec<u8>,
    finder: Finder<'static>,
    buf: Vec<u8>,
    state: State,
    current: Current<F::Sink>,
    items: Vec<(String, FormValue<F::Sink>)>,
    files: usize,
    fields: usize,
    fed: bool,
    failed: bool,
}

impl<F: SinkFactory> std::fmt::Debug for MultipartParser<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartParser")
            .field("state", &self.state)
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

impl<F: SinkFactory> MultipartParser<F> {
    /// A parser for parts separated by `boundary` (without the leading `--`).
    pub fn new(boundary: &[u8], charset: Charset, limits: Limits, factory: F) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary);
        let finder = Finder::new(&delimiter).into_owned();
        MultipartParser {
            factory,
            limits,
            charset,
            delimiter,
            finder,
            // The first boundary may open the body: parse as if a CRLF preceded it.
            buf: b"\r\n".to_vec(),
            state: State::Preamble,
            current: Current::None,
            items: Vec::new(),
            files: 0,
            fields: 0,
            fed: false,
            failed: false,
        }
    }

    /// A parser for a request's Content-Type; errors when it has no boundary.
    pub fn from_content_type(
        content_type: &str,
        limits: Limits,
        factory: F,
    ) -> Result<Self, FormError> {
        let (boundary, charset) = boundary_from_content_type(content_type)?;
        Ok(Self::new(&boundary, charset, limits, factory))
    }

    /// The items completed so far.
    pub fn items(&self) -> &[(String, FormValue<F::Sink>)] {
        &self.items
    }

    /// Moves out the items completed so far (a caller can hand them on while parsing goes on);
    /// [`MultipartParser::finish`] then returns only the later ones.
    pub fn take_items(&mut self) -> Vec<(String, FormValue<F::Sink>)> {
        std::mem::take(&mut self.items)
    }

    /// Parses the next chunk of the body. After an error the parser refuses further input.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), FormError> {
        if self.failed {
            return Err(FormError::Invalid("the parser already failed"));
        }
        if !chunk.is_empty() {
            self.fed = true;
        }
        let open = self.delimiter.len() - 2;
        let r = if self.state == State::Preamble && self.buf.len() == 2 && chunk.len() >= open {
            // The opening boundary read from the first chunk itself (`buf` holds only the
            // CRLF the delimiter starts with, which the body does not): the same check as
            // `State::Preamble`, without copying the first chunk into `buf`.
            if chunk[..open] != self.delimiter[2..] {
                Err(FormError::Invalid(
                    "the body does not start with the boundary",
                ))
            } else {
                self.buf.clear();
                self.state = State::AfterBoundary;
                let rest = &chunk[open..];
                self.run(rest)
                    .map(|consumed| self.buf.extend_from_slice(&rest[consumed..]))
            }
        } else if self.buf.is_empty() {
            // The usual case between chunks: parse straight from the caller's chunk, keeping
            // only an unfinished tail (a part's headers, or what may begin a delimiter).
            self.run(chunk)
                .map(|consumed| self.buf.extend_from_slice(&chunk[consumed..]))
        } else {
            self.buf.extend_from_slice(chunk);
            let buf = std::mem::take(&mut self.buf);
            let r = self.run(&buf);
            self.buf = buf;
            r.map(|consumed| {
                self.buf.drain(..consumed);
            })
        };
        if r.is_err() {
            self.failed = true;
            self.current = Current::None;
        }
        r
    }

    /// Ends the body: errors if the closing boundary was not seen, else returns the form.
    ///
    /// An empty body gives an empty form, as in Starlette.
    pub fn finish(self) -> Result<FormData<F::Sink>, FormError> {
        if self.failed {
            return Err(FormError::Invalid("the parser already failed"));
        }
        if self.state != State::End && self.fed {
            return Err(FormError::Truncated);
        }
        Ok(FormData { items: self.items })
    }

    /// Parses `input` from its start; returns how many bytes were consumed (the rest is an
    /// unfinished piece the caller keeps for the next chunk).
    fn run(&mut self, input: &[u8]) -> Result<usize, FormError> {
        let mut pos = 0;
        loop {
            let buf = &input[pos..];
            match self.state {
                State::Preamble => {
                    // Like python-multipart, the body must open with the boundary: no preamble.
                    let n = buf.len().min(self.delimiter.len());
                    if buf[..n] != self.delimiter[..n] {
                        return Err(FormError::Invalid(
                            "the body does not start with the boundary",
                        ));
                    }
                    if n < self.delimiter.len() {
                        break;
                    }
                    pos += n;
                    self.state = State::AfterBoundary;
                }
                State::AfterBoundary => {
                    if buf.len() < 2 {
                        break;
                    }
                    if buf.starts_with(b"--") {
                        self.state = State::End;
                        continue;
                    }
                    if !buf.starts_with(b"\r\n") {
                        return Err(FormError::Invalid("expected CRLF after a boundary"));
                    }
                    pos += 2;
                    self.state = State::Headers;
                }
                State::Padding => {
                    let pad = buf.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
                    if buf.len() < pad + 2 {
                        pos += pad;
                        break;
                    }
                    if &buf[pad..pad + 2] != b"\r\n" {
                        return Err(FormError::Invalid("expected CRLF after boundary padding"));
                    }
                    pos += pad + 2;
                    self.state = State::Headers;
                }
                State::Headers => {
                    let (head_len, total) = if buf.starts_with(b"\r\n") {
                        (0, 2)
                    } else {
                        match memchr::memmem::find(buf, b"\r\n\r\n") {
                            Some(i) => (i, i + 4),
                            None if buf.len() > MAX_PART_HEADER => {
                                return Err(FormError::Invalid("part headers are too large"));
                            }
                            None => break,
                        }
                    };
                    let head = buf[..head_len].to_vec();
                    pos += total;
                    self.begin_part(&head)?;
                    self.state = State::Body;
                }
                State::Body => {
                    let d = self.delimiter.len();
                    let (data_end, boundary) = match self.finder.find(buf) {
                        // A delimiter counts only when CRLF or `--` follows it; otherwise it is
                        // content, as in python-multipart.
                        Some(i) if buf.len() >= i + d + 2 => {
                            let next = &buf[i + d..i + d + 2];
                            if next == b"\r\n" || next == b"--" || matches!(next[0], b' ' | b'\t') {
                                (i, true)
                            } else {
                                (i + 1, false)
                            }
                        }
                        Some(i) => (i, false),
                        None => (self.safe_end(buf), false),
                    };
                    if data_end > 0 {
                        self.part_data(&input[pos..pos + data_end])?;
                        pos += data_end;
                    }
                    if boundary {
                        self.end_part()?;
                        pos += d;
                        let padded = input.get(pos).is_some_and(|b| matches!(b, b' ' | b'\t'));
                        self.state = if padded {
                            State::Padding
                        } else {
                            State::AfterBoundary
                        };
                    } else if self
                        .finder
                        .find(&input[pos..])
                        .is_none_or(|i| input.len() - pos < i + d + 2)
                    {
                        break;
                    }
                }
                State::End => {
                    pos = input.len();
                    break;
                }
            }
        }
        Ok(pos)
    }

    /// How much of `buf` (part content with no delimiter in it) is certainly content: all of
    /// it but a tail that could be the start of a delimiter cut by the chunk's end. The
    /// delimiter opens with CR, so only a CR in the last `len - 1` bytes can start one.
    fn safe_end(&self, buf: &[u8]) -> usize {
        let d = self.delimiter.len();
        let from = buf.len().saturating_sub(d - 1);
        let mut at = from;
        while let Some(i) = memchr::memchr(b'\r', &buf[at..]) {
            let start = at + i;
            if self.delimiter.starts_with(&buf[start..]) {
                return start;
            }
            at = start + 1;
        }
        buf.len()
    }

    fn begin_part(&mut self, head: &[u8]) -> Result<(), FormError> {
        let mut headers: Vec<(Bytes, Bytes)> = Vec::new();
        let mut disposition: &[u8] = b"";
        // The rules and limits of python-multipart 0.0.34: lines end with CRLF only, names are
        // RFC 9110 tokens, leading spaces (not tabs) are dropped from values, a lone CR is an
        // error, at most 8 headers of at most 4224 bytes each.
        let mut rest = head;
        while !rest.is_empty() {
            let (line, next) = match memchr::memmem::find(rest, b"\r\n") {
                Some(i) => (&rest[..i], &rest[i + 2..]),
                None => (rest, &[][..]),
            };
            rest = next;
            if headers.len() == MAX_HEADER_COUNT {
                return Err(FormError::Invalid("too many part headers"));
            }
            if line.len() > MAX_HEADER_SIZE {
                return Err(FormError::Invalid("a part header is too large"));
            }
            let colon = line
                .iter()
                .position(|&b| b == b':')
                .ok_or(FormError::Invalid("a part header has no colon"))?;
            let name = &line[..colon];
            if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
                return Err(FormError::Invalid("invalid part header name"));
            }
            let value = &line[colon + 1..];
            let value = &value[value.iter().take_while(|&&b| b == b' ').count()..];
            if value.contains(&b'\r') {
                return Err(FormError::Invalid("a part header has CR without LF"));
            }
            let name = name.to_ascii_lowercase();
            if name == b"content-disposition" {
                disposition = value;
            }
            headers.push((Bytes::from(name), Bytes::copy_from_slice(value)));
        }
        let (_, options) = parse_options_header(&latin1_to_string(disposition));
        let raw = |k: &str| -> Option<Vec<u8>> {
            options
                .iter()
                .find(|(ok, _)| ok == k)
                .map(|(_, v)| v.chars().map(|c| u32::from(c) as u8).collect())
        };
        let name = self
            .charset
            .decode(&raw("name").ok_or(FormError::MissingName)?);
        match raw("filename") {
            Some(filename) => {
                self.files += 1;
                if self.files > self.limits.max_files {
                    return Err(FormError::TooManyFiles(self.limits.max_files));
                }
                let filename = self.charset.decode(&filename);
                let content_type = headers
                    .iter()
                    .find(|(k, _)| k.as_ref() == b"content-type")
                    .map(|(_, v)| latin1_to_string(v).into_owned());
                let sink = self.factory.create(&PartInfo {
                    name: &name,
                    filename: &filename,
                    headers: &headers,
                })?;
                self.current = Current::File {
                    name,
                    part: FilePart {
                        filename,
                        content_type,
                        headers,
                        size: 0,
                        sink,
                    },
                };
            }
            None => {
                self.fields += 1;
                if self.fields > self.limits.max_fields {
                    return Err(FormError::TooManyFields(self.limits.max_fields));
                }
                self.current = Current::Field {
                    name,
                    data: Vec::new(),
                };
            }
        }
        Ok(())
    }

    fn part_data(&mut self, data: &[u8]) -> Result<(), FormError> {
        if data.is_empty() {
            return Ok(());
        }
        match &mut self.current {
            Current::Field { data: buf, .. } => {
                if buf.len() + data.len() > self.limits.max_part_size {
                    return Err(FormError::PartTooLarge(self.limits.max_part_size));
                }
                buf.extend_from_slice(data);
            }
            Current::File { part, .. } => {
                part.sink.write(data)?;
                part.size += data.len() as u64;
            }
            Current::None => {}
        }
        Ok(())
    }

    fn end_part(&mut self) -> Result<(), FormError> {
        match std::mem::replace(&mut self.current, Current::None) {
            Current::Field { name, data } => {
                let value = self.charset.decode(&data);
                self.items.push((name, FormValue::Field(value)));
            }
            Current::File { name, mut part } => {
                part.sink.finish()?;
                self.items.push((name, FormValue::File(part)));
            }
            Current::None => {}
        }
        Ok(())
    }
}
