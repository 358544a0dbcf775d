//! `Range` headers: `tachyon_core::range::parse_range_header` against a reference written
//! from Starlette 1.10's `FileResponse._parse_range_header` line by line (with `u128`
//! numbers), on any text and file size; accepted ranges are sorted, disjoint, non-empty
//! and inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_core::range::{RangeSpec, parse_range_header};

/// Python's `int()` restricted to what the parser claims to read (1-18 ASCII digits).
fn int(s: &str) -> Option<u128> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn strip(s: &str) -> &str {
    s.trim_matches(|c: char| {
        matches!(
            c,
            ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f'
        )
    })
}

/// Starlette's parser; `None` where Python's `int()` would see something else than digits.
fn reference(header: &str, size: u128, max_ranges: usize) -> Option<RangeSpec> {
    if !header.is_ascii() {
        return None;
    }
    let Some((units, range)) = header.split_once('=') else {
        return Some(RangeSpec::Malformed("Malformed range header."));
    };
    if strip(units).to_lowercase() != "bytes" {
        return Some(RangeSpec::Malformed("Only support bytes range"));
    }
    if range.matches(',').count() + 1 > max_ranges {
        return Some(RangeSpec::Whole);
    }
    let mut ranges: Vec<(u128, u128)> = Vec::new();
    for part in range.split(',') {
        let part = strip(part);
        if part.is_empty() || part == "-" || !part.contains('-') {
            continue;
        }
        let (start_str, end_str) = part.split_once('-').unwrap();
        let (start_str, end_str) = (strip(start_str), strip(end_str));
        for s in [start_str, end_str] {
            if !s.is_empty() && int(s).is_none() {
                return None;
            }
        }
        let start = if !start_str.is_empty() {
            int(start_str).unwrap()
        } else {
            match int(end_str) {
                Some(n) => size.saturating_sub(n),
                None => continue,
            }
        };
        let end = if !start_str.is_empty() && !end_str.is_empty() && int(end_str).unwrap() < size {
            int(end_str).unwrap() + 1
        } else {
            size
        };
        ranges.push((start, end));
    }
    if ranges.is_empty() {
        return Some(RangeSpec::Malformed(
            "Range header: range must be requested",
        ));
    }
    if ranges.iter().any(|&(start, _)| start >= size) {
        return Some(RangeSpec::NotSatisfiable);
    }
    if ranges.iter().any(|&(start, end)| start >= end) {
        return Some(RangeSpec::Malformed(
            "Range header: start must be less than end",
        ));
    }
    if ranges.len() > 1 {
        ranges.sort();
        let mut result = vec![ranges[0]];
        for &(start, end) in &ranges[1..] {
            let last = result.last_mut().unwrap();
            if start <= last.1 {
                last.1 = last.1.max(end);
            } else {
                result.push((start, end));
            }
        }
        ranges = result;
    }
    Some(RangeSpec::Ranges(
        ranges
            .into_iter()
            .map(|(s, e)| (s as u64, e as u64))
            .collect(),
    ))
}

fuzz_target!(|data: (&str, u64, u8)| {
    let (header, size, max_ranges) = data;
    // Small files make hits likely; large ones test the arithmetic.
    let size = if size % 4 == 0 { size } else { size % 1000 };
    let max_ranges = usize::from(max_ranges);
    let ours = parse_range_header(header, size, max_ranges);
    match reference(header, u128::from(size), max_ranges) {
        None => assert_eq!(ours, RangeSpec::Unsure, "{header:?}"),
        Some(expected) => assert_eq!(ours, expected, "{header:?} size {size}"),
    }
    if let RangeSpec::Ranges(ranges) = &ours {
        assert!(!ranges.is_empty());
        for w in ranges.windows(2) {
            assert!(w[0].1 < w[1].0, "sorted and disjoint: {ranges:?}");
        }
        for &(start, end) in ranges {
            assert!(start < end && end <= size);
        }
    }
});
