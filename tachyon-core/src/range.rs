//! `Range` request headers, parsed exactly as Starlette 1.10's `FileResponse` parses them.
//!
//! Starlette's rules, in order:
//! 1. No `=` at all: malformed (`"Malformed range header."`).
//! 2. The unit before the first `=`, stripped and lowercased, is not `bytes`: malformed
//!    (`"Only support bytes range"`).
//! 3. At least `max_ranges` commas: the header is ignored and the whole file is sent.
//! 4. Each comma-separated item with a `-` is `start-end`, `start-` or `-suffix`; an item
//!    without a `-`, or with a number Python's `int()` refuses, is skipped. `end` is
//!    inclusive and clamped to the file (`end + 1` when `end < size`, else `size`); a suffix
//!    is the last N bytes, all of the file when N exceeds it.
//! 5. No item left: malformed (`"Range header: range must be requested"`).
//! 6. Any start at or past the end of the file: not satisfiable (416).
//! 7. Any empty range (`start >= end`): malformed (`"Range header: start must be less
//!    than end"`).
//! 8. Several ranges are sorted and overlapping or touching ones merged.
//!
//! Python's `str.strip()` and `int()` accept more than ASCII: Unicode whitespace, digits of
//! other scripts (`'١٢'`), signs and `_` separators, and numbers of any size up to
//! `sys.get_int_max_str_digits()`. Rather than reimplement them, [`parse_range_header`]
//! answers [`RangeSpec::Unsure`] when the header is not ASCII or a number is anything but
//! 1 to 18 ASCII digits, and the caller runs Python's own parser. A hostile header costs
//! at most one pass over its bytes: items are only counted up to `max_ranges`.
//!
//! ```
//! use tachyon_core::range::{RangeSpec, parse_range_header};
//! assert_eq!(parse_range_header("bytes=0-9", 100, 100), RangeSpec::Ranges(vec![(0, 10)]));
//! assert_eq!(parse_range_header("bytes=-10", 100, 100), RangeSpec::Ranges(vec![(90, 100)]));
//! assert_eq!(
//!     parse_range_header("bytes=50-,0-9,5-20", 100, 100),
//!     RangeSpec::Ranges(vec![(0, 21), (50, 100)])
//! );
//! assert_eq!(parse_range_header("bytes=200-", 100, 100), RangeSpec::NotSatisfiable);
//! assert_eq!(parse_range_header("bytes=+5-", 100, 100), RangeSpec::Unsure);
//! ```

/// What a `Range` header asks of a file, as Starlette's `FileResponse` decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeSpec {
    /// Ignore the header and send the whole file (too many ranges).
    Whole,
    /// Half-open `(start, end)` byte ranges: one as given, or several sorted and merged.
    Ranges(Vec<(u64, u64)>),
    /// Answer 400 with this text as the body (Starlette's `MalformedRangeHeader`).
    Malformed(&'static str),
    /// Answer 416 with `Content-Range: bytes */<size>` (Starlette's `RangeNotSatisfiable`).
    NotSatisfiable,
    /// The header holds text Python's `str.strip()` or `int()` reads in ways this parser
    /// does not reproduce (non-ASCII, signs, `_`, more than 18 digits): parse it in Python.
    Unsure,
}

/// The text of a header without `=`.
pub const MALFORMED: &str = "Malformed range header.";
/// The text for a unit other than `bytes`.
pub const ONLY_BYTES: &str = "Only support bytes range";
/// The text when no item is a range.
pub const NOT_REQUESTED: &str = "Range header: range must be requested";
/// The text when a range is empty.
pub const START_AFTER_END: &str = "Range header: start must be less than end";

/// Numbers with more digits are left to Python (`10^18 - 1` fits a `u64` with room for `+ 1`).
const MAX_DIGITS: usize = 18;

/// Python's `str.isspace()` over ASCII: the C whitespace plus the separators U+001C..U+001F.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f)
}

/// Python's `str.strip()` for ASCII text.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_py_space(c as u8))
}

/// A number field after stripping: `Ok(None)` when empty, `Ok(Some(n))` for 1 to 18 ASCII
/// digits, `Err(())` for anything else (Python's `int()` decides).
fn number(s: &str) -> Result<Option<u64>, ()> {
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > MAX_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    s.parse().map(Some).map_err(|_| ())
}

/// Parses a `Range` header for a file of `file_size` bytes, as Starlette 1.10's
/// `FileResponse._parse_range_header` with its class attribute `max_ranges`.
///
/// See the [module docs](self) for the rules and for when it answers [`RangeSpec::Unsure`].
pub fn parse_range_header(header: &str, file_size: u64, max_ranges: usize) -> RangeSpec {
    if !header.is_ascii() {
        return RangeSpec::Unsure;
    }
    let Some((units, spec)) = header.split_once('=') else {
        return RangeSpec::Malformed(MALFORMED);
    };
    if !py_strip(units).eq_ignore_ascii_case("bytes") {
        return RangeSpec::Malformed(ONLY_BYTES);
    }
    // Counting commas first bounds the work a hostile header can cause.
    if memchr::memchr_iter(b',', spec.as_bytes()).count() >= max_ranges {
        return RangeSpec::Whole;
    }
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for item in spec.split(',') {
        let Some((first, last)) = py_strip(item).split_once('-') else {
            continue;
        };
        let (Ok(first), Ok(last)) = (number(py_strip(first)), number(py_strip(last))) else {
            return RangeSpec::Unsure;
        };
        let range = match (first, last) {
            (Some(start), Some(last)) if last < file_size => (start, last + 1),
            (Some(start), _) => (start, file_size),
            (None, Some(suffix)) => (file_size.saturating_sub(suffix), file_size),
            // `int("")` fails: the item is skipped.
            (None, None) => continue,
        };
        ranges.push(range);
    }
    if ranges.is_empty() {
        return RangeSpec::Malformed(NOT_REQUESTED);
    }
    if ranges.iter().any(|&(start, _)| start >= file_size) {
        return RangeSpec::NotSatisfiable;
    }
    if ranges.iter().any(|&(start, end)| start >= end) {
        return RangeSpec::Malformed(START_AFTER_END);
    }
    if ranges.len() > 1 {
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        ranges = merged;
    }
    RangeSpec::Ranges(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeSpec::*;

    fn p(h: &str) -> RangeSpec {
        parse_range_header(h, 100, 100)
    }

    #[test]
    fn single_ranges() {
        assert_eq!(p("bytes=0-0"), Ranges(vec![(0, 1)]));
        assert_eq!(p("bytes=0-99"), Ranges(vec![(0, 100)]));
        assert_eq!(p("bytes=0-1000"), Ranges(vec![(0, 100)]), "end clamped");
        assert_eq!(p("bytes=10-"), Ranges(vec![(10, 100)]));
        assert_eq!(p("bytes=-1"), Ranges(vec![(99, 100)]));
        assert_eq!(p("bytes=-1000"), Ranges(vec![(0, 100)]), "suffix clamped");
        assert_eq!(p(" BYTES \t= 1 - 2 "), Ranges(vec![(1, 3)]));
        assert_eq!(
            p("Bytes=\x1c1-2\x1f"),
            Ranges(vec![(1, 3)]),
            "Python's whitespace"
        );
    }

    #[test]
    fn refusals_in_starlettes_order() {
        assert_eq!(p(""), Malformed(MALFORMED));
        assert_eq!(p("bytes"), Malformed(MALFORMED));
        assert_eq!(p("items=0-1"), Malformed(ONLY_BYTES));
        assert_eq!(p("bytes=x"), Malformed(NOT_REQUESTED));
        assert_eq!(p("bytes="), Malformed(NOT_REQUESTED));
        assert_eq!(p("bytes=-"), Malformed(NOT_REQUESTED));
        assert_eq!(p("bytes=,,"), Malformed(NOT_REQUESTED));
        assert_eq!(p("bytes=100-"), NotSatisfiable);
        assert_eq!(p("bytes=-0"), NotSatisfiable, "start 100 of 100");
        assert_eq!(p("bytes=9-5"), Malformed(START_AFTER_END));
        // Satisfiability is checked over all ranges before emptiness.
        assert_eq!(p("bytes=9-5,200-"), NotSatisfiable);
        assert_eq!(parse_range_header("bytes=0-", 0, 100), NotSatisfiable);
    }

    #[test]
    fn several_ranges_sorted_and_merged() {
        assert_eq!(p("bytes=20-29,0-4,3-6"), Ranges(vec![(0, 7), (20, 30)]));
        assert_eq!(
            p("bytes=0-4,6-9"),
            Ranges(vec![(0, 5), (6, 10)]),
            "a gap stays"
        );
        assert_eq!(
            p("bytes=0-4,5-9"),
            Ranges(vec![(0, 10)]),
            "adjacent ranges merge"
        );
        assert_eq!(p("bytes=0-9,0-9,0-9"), Ranges(vec![(0, 10)]));
        assert_eq!(p("bytes=-10,0-,x,5"), Ranges(vec![(0, 100)]));
    }

    #[test]
    fn max_ranges_counts_commas() {
        // 101 items have 100 commas: ignored; 100 items are read.
        let h = format!("bytes={}", vec!["0-1"; 101].join(","));
        assert_eq!(p(&h), Whole);
        let h = format!("bytes={}", vec!["0-1"; 100].join(","));
        assert_eq!(p(&h), Ranges(vec![(0, 2)]));
        assert_eq!(parse_range_header("bytes=0-1", 100, 0), Whole);
    }

    #[test]
    fn unsure_when_python_reads_more() {
        for h in [
            "bytes=+5-",
            "bytes=1_0-",
            "bytes=٥-",
            "bytes\u{a0}=0-1",
            "bytes=5--3",
            "bytes=1 2-",
            "bytes=1234567890123456789-",
            "bytes=a-b",
        ] {
            assert_eq!(p(h), Unsure, "{h:?}");
        }
        // 18 digits are read here.
        assert_eq!(p("bytes=999999999999999999-"), NotSatisfiable);
        assert_eq!(p("bytes=-999999999999999999"), Ranges(vec![(0, 100)]));
    }

    #[test]
    fn huge_files_do_not_overflow() {
        let size = u64::MAX;
        assert_eq!(
            parse_range_header("bytes=0-999999999999999999", size, 100),
            Ranges(vec![(0, 1_000_000_000_000_000_000)])
        );
        assert_eq!(
            parse_range_header("bytes=-1", size, 100),
            Ranges(vec![(size - 1, size)])
        );
    }
}
