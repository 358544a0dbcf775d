//! Response-body compression: gzip, brotli and zstd, in one call or as a stream, and the
//! `Accept-Encoding` negotiation that picks one of them.
//!
//! - [`compress`] encodes a whole body in one call (the common, non-streaming response).
//! - [`Encoder`] encodes a streamed body chunk by chunk. Every chunk but the last ends with
//!   a flush (zlib's `Z_SYNC_FLUSH`, brotli's and zstd's flush operations), so a client can
//!   decode everything sent so far; the last chunk ends the stream.
//! - [`negotiate`] reads an `Accept-Encoding` header with q-values (RFC 9110 §12.5.3).
//!
//! ```
//! use tachyon_core::compress::{Encoder, Encoding, compress, negotiate};
//!
//! let body = b"hello, hello, hello, hello".repeat(40);
//! let gz = compress(Encoding::Gzip, 6, &body).unwrap();
//! assert_eq!(&gz[..2], b"\x1f\x8b");
//! assert!(gz.len() < body.len());
//!
//! let mut encoder = Encoder::new(Encoding::Zstd, 3).unwrap();
//! let mut out = Vec::new();
//! encoder.write(&body[..100], false, &mut out).unwrap();
//! encoder.write(&body[100..], true, &mut out).unwrap();
//!
//! let preference = [Encoding::Zstd, Encoding::Brotli, Encoding::Gzip];
//! assert_eq!(negotiate("gzip, deflate, br, zstd", &preference), Some(Encoding::Zstd));
//! assert_eq!(negotiate("gzip, br;q=0.5", &preference), Some(Encoding::Gzip));
//! assert_eq!(negotiate("br;q=0", &preference), None);
//! ```
//!
//! ## Which deflate for gzip
//!
//! A whole body (the one-shot [`compress`]) at levels 1-8 goes to libdeflate, a
//! whole-buffer compressor: no streaming state; at levels 3-8 1.3-1.8x faster than zlib-rs
//! (about even at level 1), 1.6-3.6x faster than C zlib, with a better ratio than zlib's on
//! JSON and within 4 % of it on prose. Measured through the extension on the bodies of
//! `benches/comprehensive_benchmark.py`'s GZip rows (best of 5, one run on a busy 2-core
//! machine), milliseconds and compressed bytes:
//!
//! | 1 MiB JSON / text | level 1                | level 6                 | level 9                 |
//! |-------------------|------------------------|-------------------------|-------------------------|
//! | C zlib 1.2.13     | 27.1 196556 / 48.6 380760 | 58.3 152910 / 453 307603 | 304 142828 / 689 303287 |
//! | zlib-rs           | 14.9 179171 / 41.2 368367 | 42.9 151959 / 226 307182 | 112 147401 / 475 303287 |
//! | libdeflate        | 16.6 181547 / 24.9 355661 | 31.9 139298 / 126 319058 | 240 131965 / 429 303859 |
//!
//! ### Levels: libdeflate runs at the number asked for
//!
//! libdeflate's levels are not zlib's, so a level mapping was measured
//! (`benches/gzip_levels.py`: the comprehensive benchmark's GZip corpora, exact gzip sizes,
//! Python's zlib as Starlette calls it). The rule tried: for each level, the cheapest
//! libdeflate level (1-12) whose output is no larger than zlib's at that level on every
//! corpus (JSON, prose, random bytes) and size (32 KiB, 1 MiB, 10 MiB):
//!
//! | zlib level                          | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8    | 9    |
//! |-------------------------------------|---|---|---|---|---|---|---|------|------|
//! | libdeflate level, all corpora       | 1 | 1 | 2 | 2 | 5 | 7 | 7 | 10   | 10   |
//! | ... JSON (32 KiB, 1 MiB, 10 MiB)    | 1 | 1 | 2 | 2 | 4 | 5 | 5 | 6    | 6    |
//! | ... prose 32 KiB                    | 1 | 1 | 1 | 2 | 5 | 6 | 6 | 6    | 6    |
//! | ... prose 1 MiB / 10 MiB            | 1 | 1 | 1 | 2 | 5 | 7 | 7 | 7/10 | 7/10 |
//!
//! (Random bytes: any level, all stored.) The rule is not adopted: prose sets the level, and
//! at 6 it asks for libdeflate's 7, which costs 1.7-2x libdeflate's 6 (1 MiB JSON 13.8 ms vs
//! 8.2 ms, 1 MiB prose 65 ms vs 33 ms; zlib's 6: 21 ms and 109 ms), and at 8-9 for the
//! near-optimal level 10 (2 s per 10 MiB). Going down instead (6 as libdeflate's 5: 5.5 ms
//! on 1 MiB JSON) would send prose 7 % larger than zlib's. So a level is libdeflate's level
//! of the same number: at 6, 9 % smaller than zlib's on JSON and up to 4 % larger on the
//! prose corpus (1.037 at 1 MiB, 1.040 at 10 MiB, 0.992 at 32 KiB); at 1-4 5-12 % smaller
//! on both (a test checks it on its own corpora, where 5 is 1 % larger on prose).
//!
//! Level 9 stays on zlib-rs (its level-9 strategy is zlib-ng's, twice as fast as
//! libdeflate's level 9 on JSON), and so does level 0 (stored blocks). The gzip header and
//! trailer around libdeflate's raw deflate are written here, so every level's header is
//! zlib's byte for byte (see `gzip_header`).
//!
//! A streamed body ([`Encoder`]) needs a sync flush after each chunk, which libdeflate
//! cannot do: it stays on flate2, whose backends were measured for it:
//!
//! flate2 is a front end over several deflate backends. Measured on this project's machine
//! (2 shared, busy cores with AVX2: differences under about 20 % are noise; 1 MiB bodies;
//! best of 7; Python's zlib is the system zlib 1.2.13 that Starlette uses), in milliseconds,
//! JSON / text / random bytes:
//!
//! | backend                  | level 1          | level 6            | level 9            |
//! |--------------------------|------------------|--------------------|--------------------|
//! | Python `zlib` (1.2.13)   | 6.6 / 9.3 / 26.8 | 18.4 / 48.7 / 25.7 | 84.2 / 193 / 26.9  |
//! | flate2 + zlib (C, 1.3)   | 6.8 / 9.0 / 26.8 | 18.2 / 44.9 / 31.1 | 92.0 / 234 / 28.2  |
//! | flate2 + miniz_oxide     | 4.4 / 5.0 / 7.1  | 28.0 / 63.7 / 36.7 | 68.7 / 189 / 36.1  |
//! | flate2 + zlib-ng (C)     | 3.8 / 4.3 / 14.7 | 16.4 / 42.6 / 39.9 | 27.3 / 74.6 / 27.0 |
//! | flate2 + zlib-rs (Rust)  | 3.6 / 5.3 / 13.9 | 15.2 / 49.5 / 26.2 | 24.1 / 76.8 / 30.2 |
//!
//! zlib-rs and zlib-ng are the fastest and close to each other; zlib-rs is pure Rust (no C
//! toolchain or cmake in the build) and flate2's recommended fast backend, so it is the one
//! used. zlib-rs follows zlib-ng's levels: level 1 is a "quick" strategy that trades a lot of
//! ratio for speed, so level 1 here uses zlib-rs's level 2 (see `deflate_level`). Input that
//! deflate cannot shrink (a whole body, or one chunk of a stream) goes straight to stored
//! blocks (see `looks_incompressible`), which is what zlib ends up emitting for it after a
//! full match search; and a one-shot body that still came out larger than stored blocks
//! would be is re-encoded as stored blocks. `cargo bench -p tachyon-benches --bench compress`
//! measures the encoders; `benches/comprehensive_benchmark.py` compares them with
//! Starlette's.

use std::fmt;
use std::io::Write;

use flate2::{Compress, Compression, FlushCompress, Status};

/// A content coding this module can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// `gzip` (RFC 1952): deflate with a gzip header and CRC-32 trailer.
    Gzip,
    /// `br` (RFC 7932): brotli.
    Brotli,
    /// `zstd` (RFC 8878): Zstandard, one frame per response.
    Zstd,
}

impl Encoding {
    /// The `Content-Encoding` token: `gzip`, `br` or `zstd`.
    pub const fn token(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
        }
    }

    /// The encoding a content-coding token names, ignoring ASCII case; `x-gzip` is `gzip`
    /// (RFC 9110 §8.4.1.3).
    pub fn from_token(token: &str) -> Option<Self> {
        let token = token.trim();
        if token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip") {
            Some(Encoding::Gzip)
        } else if token.eq_ignore_ascii_case("br") {
            Some(Encoding::Brotli)
        } else if token.eq_ignore_ascii_case("zstd") {
            Some(Encoding::Zstd)
        } else {
            None
        }
    }

    /// The levels accepted, lowest to highest: gzip -1..=9 (-1 is zlib's default, 6; 0
    /// stores), brotli 0..=11, zstd 1..=19 (higher zstd levels need a window larger than the
    /// 8 MiB that browsers decode).
    pub const fn levels(self) -> (i32, i32) {
        match self {
            Encoding::Gzip => (-1, 9),
            Encoding::Brotli => (0, 11),
            Encoding::Zstd => (1, 19),
        }
    }

    /// Whether `level` is one of [`Encoding::levels`].
    pub const fn check_level(self, level: i32) -> Result<(), LevelError> {
        let (low, high) = self.levels();
        if low <= level && level <= high {
            Ok(())
        } else {
            Err(LevelError {
                encoding: self,
                level,
            })
        }
    }
}

/// A compression level outside the range its encoding accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelError {
    /// The encoding the level was given for.
    pub encoding: Encoding,
    /// The rejected level.
    pub level: i32,
}

impl fmt::Display for LevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (low, high) = self.encoding.levels();
        write!(
            f,
            "invalid {} compression level {}: expected an integer from {low} to {high}",
            self.encoding.token(),
            self.level
        )
    }
}

impl std::error::Error for LevelError {}

/// A compression that could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompressError {
    /// The level is outside the encoding's range.
    Level(LevelError),
    /// Data was written after the stream was finished.
    Finished,
    /// The compression library reported an error (message included).
    Backend(String),
}

impl fmt::Display for CompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompressError::Level(err) => err.fmt(f),
            CompressError::Finished => f.write_str("compression stream already finished"),
            CompressError::Backend(message) => write!(f, "compression failed: {message}"),
        }
    }
}

impl std::error::Error for CompressError {}

impl From<LevelError> for CompressError {
    fn from(err: LevelError) -> Self {
        CompressError::Level(err)
    }
}

fn backend<E: fmt::Display>(err: E) -> CompressError {
    CompressError::Backend(err.to_string())
}

/// Brotli's window: 4 MiB, the default of the reference encoder.
const BROTLI_LGWIN: u32 = 22;
/// Brotli's internal buffer for streaming writes.
const BROTLI_BUFFER: usize = 64 * 1024;

fn deflate_level(level: i32) -> Compression {
    Compression::new(match level {
        // zlib's Z_DEFAULT_COMPRESSION, which zlib maps to 6.
        ..=-1 => 6,
        // zlib-rs's level 1 is zlib-ng's "quick" strategy: 40 % larger output than zlib's
        // level 1 on prose, 30 % on JSON. Its level 2 is zlib's level-1 strategy
        // (deflate_fast): a ratio at least as good as zlib's level 1, and still 1.3-1.9x
        // faster than it (measured on 32 KiB and 1 MiB JSON, prose and random bytes).
        1 => 2,
        level => level as u32,
    })
}

/// Bodies smaller than this are compressed without the incompressibility check.
const PROBE_MIN: usize = 16 * 1024;

/// The order-0 entropy of `data`, in bits per byte.
fn entropy(data: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &byte in data {
        counts[usize::from(byte)] += 1;
    }
    let total = data.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

/// Whether deflate cannot shrink `data` by more than a fraction of a percent: every 64 KiB
/// segment has a byte distribution close to uniform (order-0 entropy above 7.97 bits per
/// byte, so Huffman coding gains under 0.4 %), and no 4-byte sequence repeats within
/// deflate's 32 KiB window (so there is nothing for LZ77 to match).
///
/// Such input (random bytes, already-compressed or encrypted data) costs zlib and zlib-rs
/// 25-40 ms per MiB at levels 6-9 only to end up as stored blocks; this check costs about
/// 1 ms per MiB, and anything it is unsure of goes to the compressor.
fn looks_incompressible(data: &[u8]) -> bool {
    if data.len() < PROBE_MIN {
        return false;
    }
    // Text, JSON and HTML fail on their first 4 KiB (random 4 KiB measures about 7.95),
    // so compressible bodies pay a few microseconds for the check.
    if entropy(&data[..4096]) < 7.8 {
        return false;
    }
    for segment in data.chunks(64 * 1024) {
        if segment.len() < PROBE_MIN / 2 {
            continue; // a short tail: judged with the rest
        }
        if entropy(segment) < 7.97 {
            return false;
        }
    }
    // Repeated 4-byte sequences within 32 KiB: a small hash table (L1-resident) of the last
    // position and the sequence itself, so a lookup never reads back into `data`.
    const BITS: u32 = 12;
    let mut table = vec![(u32::MAX, 0u32); 1 << BITS];
    let mut repeats = 0usize;
    // Random data repeats a 4-byte sequence about once per 2^20 bytes here.
    let allowed = data.len() / 4096;
    for (index, window) in data.windows(4).enumerate() {
        let word = u32::from_le_bytes([window[0], window[1], window[2], window[3]]);
        let slot = (word.wrapping_mul(0x9E37_79B1) >> (32 - BITS)) as usize;
        let (position, previous) = table[slot];
        table[slot] = (index as u32, word);
        if previous == word && position != u32::MAX && index - position as usize <= 32 * 1024 {
            repeats += 1;
            if repeats > allowed {
                return false;
            }
        }
    }
    true
}

/// The gzip header zlib writes for `16 + MAX_WBITS`: no name, mtime 0, OS unix, and the
/// extra-flags byte zlib derives from the level (2: slowest, 4: fastest).
fn gzip_header(level: i32) -> [u8; 10] {
    let xfl = match level {
        9 => 2,
        0 | 1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
}

/// A gzip stream over zlib-rs (window bits 15, as Python's `16 + zlib.MAX_WBITS`).
fn gzip_stream(level: i32) -> Compress {
    Compress::new_gzip(deflate_level(level), 15)
}

/// Feeds all of `input` to `stream` and flushes it with `flush`, appending to `out`.
fn deflate_into(
    stream: &mut Compress,
    mut input: &[u8],
    flush: FlushCompress,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve((input.len() / 2).max(out.len() / 2).max(4096));
        }
        let before = stream.total_in();
        let status = stream.compress_vec(input, out, flush).map_err(backend)?;
        let consumed = usize::try_from(stream.total_in() - before).unwrap_or(input.len());
        input = &input[consumed.min(input.len())..];
        match status {
            Status::StreamEnd => return Ok(()),
            // No progress possible: everything is in and already flushed.
            Status::BufError if input.is_empty() => return Ok(()),
            // zlib's rule: the flush is complete once a call leaves output space unused.
            Status::Ok | Status::BufError
                if input.is_empty()
                    && out.len() < out.capacity()
                    && !matches!(flush, FlushCompress::Finish) =>
            {
                return Ok(());
            }
            _ => {}
        }
    }
}

/// An upper bound of the size of `len` bytes as deflate stored blocks in a gzip member:
/// header, trailer, and 5 bytes per block (zlib-rs writes blocks of at least 4 KiB).
fn stored_gzip_bound(len: usize) -> usize {
    10 + 8 + 5 * len.div_ceil(4096).max(1) + len
}

thread_local! {
    /// The last libdeflate compressor this thread used, and its level: allocating one costs
    /// more than compressing a small body, and a server answers at one level.
    static LIBDEFLATE: std::cell::RefCell<Option<(i32, libdeflater::Compressor)>> =
        const { std::cell::RefCell::new(None) };
}

/// `data` as one gzip member, deflated by libdeflate at `level` (1..=8, or -1 for 6) inside
/// zlib's gzip header and trailer (see [`gzip_header`]).
fn libdeflate_gzip(level: i32, data: &[u8]) -> Vec<u8> {
    let level = if level < 0 { 6 } else { level };
    LIBDEFLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(cached, _)| *cached != level) {
            let lvl = libdeflater::CompressionLvl::new(level).unwrap_or_default();
            *slot = Some((level, libdeflater::Compressor::new(lvl)));
        }
        let Some((_, compressor)) = slot.as_mut() else {
            unreachable!("the slot was filled above")
        };
        let bound = compressor.deflate_compress_bound(data.len());
        // Zeroed memory from the allocator (calloc): pages deflate never reaches are never
        // touched.
        let mut out = vec![0u8; 10 + bound + 8];
        out[..10].copy_from_slice(&gzip_header(level));
        let written = compressor
            .deflate_compress(data, &mut out[10..10 + bound])
            .unwrap_or_else(|_| unreachable!("the output is sized by deflate_compress_bound"));
        out.truncate(10 + written);
        out.extend_from_slice(&libdeflater::crc32(data).to_le_bytes());
        // ISIZE: the length modulo 2^32 (RFC 1952).
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    })
}

/// Compresses a whole body in one call.
///
/// Gzip output is one gzip member; brotli output one stream; zstd one frame that records
/// the content size. A gzip body that would be larger than stored blocks is stored instead.
pub fn compress(encoding: Encoding, level: i32, data: &[u8]) -> Result<Vec<u8>, CompressError> {
    encoding.check_level(level)?;
    match encoding {
        Encoding::Gzip => {
            // Stored blocks, as zlib ends up emitting for such input, at memcpy speed.
            let level = if level != 0 && looks_incompressible(data) {
                0
            } else {
                level
            };
            let capacity = stored_gzip_bound(data.len());
            let mut out = if level == 0 || level == 9 {
                // Level 9: zlib-rs, 2x faster than libdeflate's level 9 on JSON (whose
                // lazy2 search is slower than zlib-ng's level 9 strategy) at zlib's ratio.
                let mut out = Vec::with_capacity(if level == 0 {
                    capacity
                } else {
                    data.len() / 3 + 64
                });
                deflate_into(
                    &mut gzip_stream(level),
                    data,
                    FlushCompress::Finish,
                    &mut out,
                )?;
                out
            } else {
                libdeflate_gzip(level, data)
            };
            if out.len() > stored_gzip_bound(data.len()) && level != 0 {
                out.clear();
                deflate_into(&mut gzip_stream(0), data, FlushCompress::Finish, &mut out)?;
            }
            Ok(out)
        }
        Encoding::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: level,
                lgwin: BROTLI_LGWIN as i32,
                size_hint: data.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(data.len() / 4 + 64);
            brotli::BrotliCompress(&mut &data[..], &mut out, &params).map_err(backend)?;
            Ok(out)
        }
        Encoding::Zstd => zstd::bulk::compress(data, level).map_err(backend),
    }
}

/// A streamed gzip member: raw deflate from zlib-rs inside a gzip header and trailer
/// written here, so that a chunk deflate cannot shrink can go out as stored blocks without
/// running the match search over it.
struct GzipStream {
    deflate: Compress,
    crc: flate2::Crc,
    header: Option<[u8; 10]>,
}

/// Deflate's window: history a later match may reach back into.
const WINDOW: usize = 32 * 1024;

impl GzipStream {
    fn new(level: i32) -> Self {
        GzipStream {
            deflate: Compress::new(deflate_level(level), false),
            crc: flate2::Crc::new(),
            header: Some(gzip_header(level)),
        }
    }

    fn write(&mut self, data: &[u8], finish: bool, out: &mut Vec<u8>) -> Result<(), CompressError> {
        if let Some(header) = self.header.take() {
            out.extend_from_slice(&header);
        }
        self.crc.update(data);
        if looks_incompressible(data) {
            // The stream is at a block boundary and byte-aligned here (at its start, or
            // after the previous chunk's sync flush), so stored blocks can follow directly.
            out.reserve(data.len() + 5 * data.len().div_ceil(65535) + 16);
            for block in data.chunks(65535) {
                let len = block.len() as u16;
                out.push(0); // BFINAL 0, BTYPE 00 (stored), padded to the byte
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(!len).to_le_bytes());
                out.extend_from_slice(block);
            }
            // Later matches may refer back into these bytes: give them to the compressor
            // as its history (allowed for raw deflate at a block boundary).
            self.deflate
                .set_dictionary(&data[data.len() - WINDOW.min(data.len())..])
                .map_err(backend)?;
            if finish {
                deflate_into(&mut self.deflate, &[], FlushCompress::Finish, out)?;
            } else {
                // Keep the shape of every other chunk: it ends with a sync-flush marker.
                out.extend_from_slice(&[0, 0, 0, 0xff, 0xff]);
            }
        } else {
            out.reserve(data.len() / 3 + 64);
            if finish {
                deflate_into(&mut self.deflate, data, FlushCompress::Finish, out)?;
            } else {
                // Data, then a flush: the calls Python's `compress()` + `flush(Z_SYNC_FLUSH)`
                // make, so an empty chunk still ends with an empty stored block as there.
                deflate_into(&mut self.deflate, data, FlushCompress::None, out)?;
                deflate_into(&mut self.deflate, &[], FlushCompress::Sync, out)?;
            }
        }
        if finish {
            out.extend_from_slice(&self.crc.sum().to_le_bytes());
            out.extend_from_slice(&self.crc.amount().to_le_bytes());
        }
        Ok(())
    }
}

enum Inner {
    Gzip(Box<GzipStream>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
    Finished,
}

/// A streaming compressor: one response body, written chunk by chunk.
pub struct Encoder {
    encoding: Encoding,
    inner: Inner,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("encoding", &self.encoding)
            .field("finished", &matches!(self.inner, Inner::Finished))
            .finish()
    }
}

impl Encoder {
    /// A new stream for `encoding` at `level` (see [`Encoding::levels`]).
    pub fn new(encoding: Encoding, level: i32) -> Result<Self, CompressError> {
        encoding.check_level(level)?;
        let inner = match encoding {
            Encoding::Gzip => Inner::Gzip(Box::new(GzipStream::new(level))),
            Encoding::Brotli => Inner::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                level as u32,
                BROTLI_LGWIN,
            ))),
            Encoding::Zstd => {
                Inner::Zstd(zstd::stream::write::Encoder::new(Vec::new(), level).map_err(backend)?)
            }
        };
        Ok(Encoder { encoding, inner })
    }

    /// The encoding this stream produces.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Whether the stream has been finished (no more data may be written).
    pub fn is_finished(&self) -> bool {
        matches!(self.inner, Inner::Finished)
    }

    /// Compresses `data` and appends the output to `out`: flushed so the client can decode
    /// all of it when `finish` is false, the end of the stream when `finish` is true.
    pub fn write(
        &mut self,
        data: &[u8],
        finish: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), CompressError> {
        match &mut self.inner {
            Inner::Finished => return Err(CompressError::Finished),
            Inner::Gzip(stream) => stream.write(data, finish, out)?,
            Inner::Brotli(writer) => {
                writer.write_all(data).map_err(backend)?;
                if !finish {
                    writer.flush().map_err(backend)?;
                    out.append(writer.get_mut());
                }
            }
            Inner::Zstd(writer) => {
                writer.write_all(data).map_err(backend)?;
                if !finish {
                    writer.flush().map_err(backend)?;
                    out.append(writer.get_mut());
                }
            }
        }
        if finish {
            match std::mem::replace(&mut self.inner, Inner::Finished) {
                Inner::Brotli(writer) => out.extend_from_slice(&writer.into_inner()),
                Inner::Zstd(writer) => out.extend_from_slice(&writer.finish().map_err(backend)?),
                _ => {}
            }
        }
        Ok(())
    }
}

/// A q-value in thousandths (0..=1000); `None` when malformed.
fn parse_qvalue(text: &str) -> Option<u16> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    for (index, digit) in fraction.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][index];
    }
    (thousandths <= 1000).then_some(thousandths)
}

/// Picks the encoding to answer with: the one of `preference` the client rates highest in
/// `accept_encoding`, ties going to the earlier in `preference`.
///
/// A coding listed without `q` has q=1; `*` rates every coding not listed; `q=0` (or a
/// malformed q) refuses. `None` means no listed coding is acceptable: send the body as is.
/// An empty header also gives `None`, as does a missing one (which callers pass as `""`):
/// clients that send no Accept-Encoding, like plain `curl`, get identity.
pub fn negotiate(accept_encoding: &str, preference: &[Encoding]) -> Option<Encoding> {
    // Per encoding in `preference`: the q of its own entry, and the q of `*`.
    let mut explicit: [Option<u16>; 3] = [None; 3];
    let mut wildcard: Option<u16> = None;
    let slot = |encoding: Encoding| match encoding {
        Encoding::Gzip => 0,
        Encoding::Brotli => 1,
        Encoding::Zstd => 2,
    };
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            continue;
        }
        let mut q = Some(1000);
        for param in parts {
            if let Some((name, value)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = parse_qvalue(value);
                }
            }
        }
        let q = q.unwrap_or(0);
        if token == "*" {
            wildcard = Some(wildcard.map_or(q, |old| old.max(q)));
        } else if let Some(encoding) = Encoding::from_token(token) {
            let entry = &mut explicit[slot(encoding)];
            *entry = Some(entry.map_or(q, |old| old.max(q)));
        }
    }
    let mut best: Option<(Encoding, u16)> = None;
    for &encoding in preference {
        let q = explicit[slot(encoding)].or(wildcard).unwrap_or(0);
        if q > 0 && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((encoding, q));
        }
    }
    best.map(|(encoding, _)| encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        let mut i = 0u32;
        while out.len() < len {
            out.extend_from_slice(
                format!(
                    "{{\"id\":{i},\"name\":\"user{}\"}},",
                    i.wrapping_mul(2654435761) % 1000
                )
                .as_bytes(),
            );
            i += 1;
        }
        out.truncate(len);
        out
    }

    fn noise(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    fn decode(encoding: Encoding, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match encoding {
            Encoding::Gzip => {
                flate2::read::MultiGzDecoder::new(data)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Encoding::Brotli => {
                brotli::Decompressor::new(data, 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Encoding::Zstd => {
                zstd::stream::read::Decoder::new(data)
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    const ALL: [Encoding; 3] = [Encoding::Gzip, Encoding::Brotli, Encoding::Zstd];

    #[test]
    fn one_shot_round_trips_every_level() {
        let data = sample(100_000);
        for encoding in ALL {
            let (low, high) = encoding.levels();
            for level in low..=high.min(11) {
                let out = compress(encoding, level, &data).unwrap();
                assert_eq!(decode(encoding, &out), data, "{encoding:?} level {level}");
            }
        }
    }

    #[test]
    fn empty_body_round_trips() {
        for encoding in ALL {
            let out = compress(encoding, 1, b"").unwrap();
            assert!(decode(encoding, &out).is_empty());
        }
    }

    #[test]
    fn gzip_header_is_zlibs() {
        // Same header Python's zlib writes with wbits 31: no name, mtime 0, OS unix.
        let out = compress(Encoding::Gzip, 6, b"abc").unwrap();
        assert_eq!(&out[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(out[9], 3);
    }

    #[test]
    fn one_shot_gzip_framing_is_zlibs() {
        // libdeflate's deflate inside zlib's header (XFL from the level, OS unix) and a
        // trailer of the CRC-32 and the length modulo 2^32, at every level and several sizes.
        for len in [0, 1, 500, 70_000, 1 << 20] {
            let data = sample(len);
            for level in -1..=9 {
                let out = compress(Encoding::Gzip, level, &data).unwrap();
                let xfl = match level {
                    9 => 2,
                    0 | 1 => 4,
                    _ => 0,
                };
                assert_eq!(
                    &out[..10],
                    &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3],
                    "{level}"
                );
                let mut crc = flate2::Crc::new();
                crc.update(&data);
                let trailer = &out[out.len() - 8..];
                assert_eq!(trailer[..4], crc.sum().to_le_bytes(), "{level}");
                assert_eq!(trailer[4..], (len as u32).to_le_bytes(), "{level}");
                assert_eq!(
                    decode(Encoding::Gzip, &out),
                    data,
                    "level {level}, {len} bytes"
                );
                if len >= 500 && level != 0 {
                    assert!(out.len() < len / 2, "level {level}: {} of {len}", out.len());
                }
            }
        }
    }

    #[test]
    fn incompressible_gzip_is_never_larger_than_stored() {
        let data = noise(300_000);
        for level in 1..=9 {
            let out = compress(Encoding::Gzip, level, &data).unwrap();
            assert!(
                out.len() <= stored_gzip_bound(data.len()),
                "level {level}: {}",
                out.len()
            );
            assert_eq!(decode(Encoding::Gzip, &out), data);
        }
    }

    #[test]
    fn streaming_flushes_each_chunk() {
        let data = sample(200_000);
        let chunks: Vec<&[u8]> = vec![
            &data[..10],
            &data[10..1000],
            b"",
            &data[1000..150_000],
            &data[150_000..],
        ];
        for encoding in ALL {
            let mut encoder = Encoder::new(encoding, 3).unwrap();
            let mut sent = Vec::new();
            let mut seen = 0;
            for (index, chunk) in chunks.iter().enumerate() {
                let finish = index == chunks.len() - 1;
                encoder.write(chunk, finish, &mut sent).unwrap();
                seen += chunk.len();
                if !finish && encoding == Encoding::Gzip {
                    // After a sync flush, everything so far decodes from the bytes sent.
                    let mut partial = Vec::new();
                    let mut decoder = flate2::read::GzDecoder::new(&sent[..]);
                    let _ = decoder.read_to_end(&mut partial);
                    assert_eq!(partial, &data[..seen]);
                }
            }
            assert!(encoder.is_finished());
            assert_eq!(decode(encoding, &sent), data, "{encoding:?}");
            assert_eq!(
                encoder.write(b"x", true, &mut sent),
                Err(CompressError::Finished)
            );
        }
    }

    #[test]
    fn streaming_many_small_chunks() {
        let data = sample(50_000);
        for encoding in ALL {
            let mut encoder = Encoder::new(encoding, encoding.levels().1.min(9)).unwrap();
            let mut sent = Vec::new();
            for chunk in data.chunks(777) {
                encoder.write(chunk, false, &mut sent).unwrap();
            }
            encoder.write(b"", true, &mut sent).unwrap();
            assert_eq!(decode(encoding, &sent), data);
        }
    }

    #[test]
    fn incompressibility_probe() {
        assert!(looks_incompressible(&noise(1 << 20)));
        assert!(looks_incompressible(&noise(PROBE_MIN)));
        assert!(!looks_incompressible(&noise(PROBE_MIN - 1)));
        assert!(!looks_incompressible(&sample(1 << 20)));
        assert!(entropy(&noise(4096)) > 7.9);
        assert!(entropy(&sample(4096)) < 6.0);
        // High byte entropy, but LZ77 finds the repeats: compressed, not stored.
        let repeated = noise(8 * 1024).repeat(16);
        assert!(!looks_incompressible(&repeated));
        let out = compress(Encoding::Gzip, 6, &repeated).unwrap();
        assert!(out.len() < repeated.len() / 8);
        // One compressible segment is enough to go to the compressor.
        let mut mixed = noise(1 << 20);
        mixed[300_000..400_000].copy_from_slice(&sample(100_000));
        assert!(!looks_incompressible(&mixed));
        // Stored output round-trips and is as small as zlib's stored blocks.
        let data = noise(1 << 20);
        let out = compress(Encoding::Gzip, 9, &data).unwrap();
        assert!(out.len() <= stored_gzip_bound(data.len()));
        assert_eq!(decode(Encoding::Gzip, &out), data);
    }

    #[test]
    fn streaming_sends_incompressible_chunks_stored() {
        let text = sample(100_000);
        let random = noise(100_000);
        let chunks: Vec<&[u8]> = vec![
            &random,
            &text,
            &random,
            &random,
            &text,
            &text[..10],
            &random,
        ];
        let data: Vec<u8> = chunks.concat();
        for level in [1, 6, 9] {
            for last_finishes_alone in [false, true] {
                let mut encoder = Encoder::new(Encoding::Gzip, level).unwrap();
                let mut sent = Vec::new();
                let mut decoded_so_far = 0;
                for (index, chunk) in chunks.iter().enumerate() {
                    let finish = index + 1 == chunks.len() && !last_finishes_alone;
                    encoder.write(chunk, finish, &mut sent).unwrap();
                    decoded_so_far += chunk.len();
                    if !finish {
                        // Every chunk decodes on its own arrival, stored or not.
                        let mut partial = Vec::new();
                        let _ = flate2::read::GzDecoder::new(&sent[..]).read_to_end(&mut partial);
                        assert_eq!(partial.len(), decoded_so_far);
                    }
                }
                if last_finishes_alone {
                    encoder.write(b"", true, &mut sent).unwrap();
                }
                assert_eq!(decode(Encoding::Gzip, &sent), data, "level {level}");
                // Random chunks cost their own size (plus block headers), text far less.
                assert!(
                    sent.len() < 4 * random.len() + text.len() / 2,
                    "{}",
                    sent.len()
                );
                // Text after stored random data still compresses as well as the first time:
                // the compressor was given the stored bytes as history.
            }
        }
        // Back-references into stored history: a random chunk repeated right after.
        let mut encoder = Encoder::new(Encoding::Gzip, 6).unwrap();
        let mut sent = Vec::new();
        let small = noise(PROBE_MIN);
        encoder.write(&small, false, &mut sent).unwrap();
        let before = sent.len();
        encoder.write(&small[..8000], true, &mut sent).unwrap();
        assert!(
            sent.len() - before < 200,
            "the repeat is matched against the stored bytes"
        );
        let mut expected = small.clone();
        expected.extend_from_slice(&small[..8000]);
        assert_eq!(decode(Encoding::Gzip, &sent), expected);
    }

    #[test]
    fn levels_are_checked() {
        assert!(compress(Encoding::Gzip, 10, b"x").is_err());
        assert!(compress(Encoding::Gzip, -2, b"x").is_err());
        assert!(Encoder::new(Encoding::Brotli, 12).is_err());
        assert!(Encoder::new(Encoding::Zstd, 0).is_err());
        assert!(Encoder::new(Encoding::Zstd, 20).is_err());
        let err = Encoder::new(Encoding::Gzip, 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid gzip compression level 10: expected an integer from -1 to 9"
        );
        assert_eq!(
            compress(Encoding::Gzip, -1, b"abc").unwrap(),
            compress(Encoding::Gzip, 6, b"abc").unwrap()
        );
    }

    #[test]
    fn tokens() {
        assert_eq!(Encoding::from_token("GZIP"), Some(Encoding::Gzip));
        assert_eq!(Encoding::from_token("x-gzip"), Some(Encoding::Gzip));
        assert_eq!(Encoding::from_token("Br"), Some(Encoding::Brotli));
        assert_eq!(Encoding::from_token("zstd"), Some(Encoding::Zstd));
        assert_eq!(Encoding::from_token("deflate"), None);
        for encoding in ALL {
            assert_eq!(Encoding::from_token(encoding.token()), Some(encoding));
        }
    }

    const PREF: [Encoding; 3] = [Encoding::Zstd, Encoding::Brotli, Encoding::Gzip];

    #[test]
    fn negotiation() {
        let n = |header: &str| negotiate(header, &PREF);
        // A browser: everything at q=1, so the server's preference decides.
        assert_eq!(n("gzip, deflate, br, zstd"), Some(Encoding::Zstd));
        assert_eq!(n("gzip, deflate, br"), Some(Encoding::Brotli));
        // curl --compressed, and plain curl.
        assert_eq!(n("gzip"), Some(Encoding::Gzip));
        assert_eq!(n("deflate, gzip"), Some(Encoding::Gzip));
        assert_eq!(n(""), None);
        assert_eq!(n("identity"), None);
        // Refusals and weights.
        assert_eq!(n("br;q=0"), None);
        assert_eq!(n("br;q=0, gzip"), Some(Encoding::Gzip));
        assert_eq!(n("gzip;q=0.5, br;q=0.8"), Some(Encoding::Brotli));
        assert_eq!(
            n("gzip;q=1.0, br;q=0.999, zstd;q=0.5"),
            Some(Encoding::Gzip)
        );
        assert_eq!(n("GZIP ; Q=0.3 , zstd ; q=0.2"), Some(Encoding::Gzip));
        assert_eq!(n("x-gzip"), Some(Encoding::Gzip));
        // The wildcard rates what is not listed.
        assert_eq!(n("*"), Some(Encoding::Zstd));
        assert_eq!(n("*;q=0.5, zstd;q=0, br;q=0"), Some(Encoding::Gzip));
        assert_eq!(n("*;q=0"), None);
        assert_eq!(n("gzip, *;q=0"), Some(Encoding::Gzip));
        // Malformed q-values refuse the entry; others still count.
        assert_eq!(n("br;q=2, gzip;q=0.1"), Some(Encoding::Gzip));
        assert_eq!(n("br;q=abc"), None);
        assert_eq!(n("br;q=0.1234"), None);
        assert_eq!(n(",,;, gzip;;q=0.5;"), Some(Encoding::Gzip));
        // Only the server's own preference list is considered.
        assert_eq!(negotiate("br, zstd", &[Encoding::Gzip]), None);
        assert_eq!(
            negotiate("br, zstd, gzip", &[Encoding::Gzip, Encoding::Brotli]),
            Some(Encoding::Gzip)
        );
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("1.001"), None);
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0."), Some(0));
        assert_eq!(parse_qvalue("-0.5"), None);
        assert_eq!(parse_qvalue(""), None);
    }
}
