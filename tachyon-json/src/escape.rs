//! JSON string escaping with exactly the escapes of Python's
//! `json.dumps(ensure_ascii=False)`: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`,
//! other bytes below 0x20 as `\u00XX` (lowercase hex); everything else verbatim.
//!
//! Clean runs are copied a whole chunk at a time (AVX2 or SSE2 on x86-64,
//! chosen at run time; 8-byte SWAR elsewhere): each chunk is stored to the
//! output unconditionally and the write cursor advances only past the clean
//! prefix, so a clean string costs one load, one store and one compare per chunk.

use crate::output::Output;

/// Escape letter for each byte, 0 when the byte is written verbatim
/// (`u` means the `\u00XX` form).
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `byte` must be escaped inside a JSON string.
#[inline]
pub(crate) fn needs_escape(byte: u8) -> bool {
    ESCAPE[byte as usize] != 0
}

/// Writes the escape sequence of `byte` at `dst`; returns the bytes written.
///
/// # Safety
/// `dst` must be valid for 6 bytes of writes.
#[inline(always)]
pub(crate) unsafe fn write_escape(dst: *mut u8, byte: u8) -> usize {
    let letter = ESCAPE[byte as usize];
    // SAFETY: the caller guarantees 6 writable bytes.
    unsafe {
        if letter == b'u' {
            let seq = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 15) as usize],
            ];
            core::ptr::copy_nonoverlapping(seq.as_ptr(), dst, 6);
            6
        } else {
            *dst = b'\\';
            *dst.add(1) = letter;
            2
        }
    }
}

/// The chunked escape loop, shared by every implementation.
///
/// `$chunk(src, dst)` must store `$n` bytes read from `src` to `dst` and
/// return the index of the first byte needing an escape (or `$n`).
macro_rules! escape_loop {
    ($out:expr, $src:expr, $n:expr, $chunk:expr) => {{
        let out = $out;
        let src: &[u8] = $src;
        let len = src.len();
        // Quote, the text, a chunk of slack for the last store, closing quote.
        out.reserve(len + $n + 2);
        let mut base = out.as_mut_ptr();
        let mut cap = out.capacity();
        let mut dst = base.add(out.len());
        *dst = b'"';
        dst = dst.add(1);
        let mut pos = 0usize;
        // Source index after the last escape: bytes from here on were copied verbatim.
        let mut verbatim_from = 0usize;
        while pos + $n <= len {
            let first = $chunk(src.as_ptr().add(pos), dst);
            if first >= $n {
                pos += $n;
                dst = dst.add($n);
                continue;
            }
            pos += first;
            dst = dst.add(first);
            // Room for this escape, the rest of the text, chunk slack and the quote.
            let used = dst.offset_from(base) as usize;
            let need = 6 + (len - pos) + $n + 1;
            if cap - used < need {
                out.set_len(used);
                out.reserve(need + (len - pos) / 2);
                base = out.as_mut_ptr();
                cap = out.capacity();
                dst = base.add(used);
            }
            dst = dst.add($crate::escape::write_escape(dst, *src.get_unchecked(pos)));
            pos += 1;
            verbatim_from = pos;
        }
        // The tail, shorter than a chunk: if the chunk ending at the string's
        // end overlaps only verbatim output, check and store it whole
        // (rewriting identical bytes); otherwise byte by byte.
        if pos < len && len >= $n && verbatim_from + $n <= len {
            let start = len - $n;
            let back = pos - start;
            let first = $chunk(src.as_ptr().add(start), dst.sub(back));
            if first >= $n {
                dst = dst.add(len - pos);
                pos = len;
            } else {
                dst = dst.add(first - back);
                pos = start + first;
            }
        }
        while pos < len {
            let c = *src.get_unchecked(pos);
            if !$crate::escape::needs_escape(c) {
                *dst = c;
                dst = dst.add(1);
            } else {
                let used = dst.offset_from(base) as usize;
                let need = 6 + (len - pos) + $n + 1;
                if cap - used < need {
                    out.set_len(used);
                    out.reserve(need);
                    base = out.as_mut_ptr();
                    cap = out.capacity();
                    dst = base.add(used);
                }
                dst = dst.add($crate::escape::write_escape(dst, c));
            }
            pos += 1;
        }
        *dst = b'"';
        dst = dst.add(1);
        out.set_len(dst.offset_from(base) as usize);
    }};
}

/// Appends `s` to `out` as a JSON string literal, quotes included.
#[inline]
pub fn write_str<O: Output + ?Sized>(out: &mut O, s: &str) {
    write_escaped(out, s.as_bytes());
}

/// Appends UTF-8 `bytes` as a JSON string literal (quotes included), choosing
/// the fastest implementation this CPU supports.
#[inline(always)]
pub(crate) fn write_escaped<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) {
    if bytes.len() < 16 && write_short_clean(out, bytes) {
        return;
    }
    write_escaped_long(out, bytes);
}

/// Everything but clean short strings (kept out of line so the short path
/// inlines into the caller's loop).
#[inline(never)]
fn write_escaped_long<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        // Short strings (most keys and values) stay on the inlined SSE2 path;
        // AVX2 pays off only when there are several 32-byte chunks.
        if bytes.len() >= 64 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 support was just checked.
            unsafe { x86::escape_avx2(out, bytes) }
        } else {
            x86::escape_sse2(out, bytes)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    escape_swar(out, bytes);
}

/// Strings under 16 bytes (most keys): checked and copied with two
/// overlapping word loads instead of a byte loop. Returns false, writing
/// nothing, when the string needs an escape.
#[inline(always)]
fn write_short_clean<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) -> bool {
    const SPACES: u64 = 0x2020_2020_2020_2020;
    let len = bytes.len();
    out.reserve(len + 2);
    // SAFETY: every read stays within `bytes` (the two words overlap when
    // len < 16); `len + 2` bytes are reserved and written before set_len.
    unsafe {
        let src = bytes.as_ptr();
        let dst = out.as_mut_ptr().add(out.len());
        if len >= 8 {
            let a = core::ptr::read_unaligned(src.cast::<u64>());
            let b = core::ptr::read_unaligned(src.add(len - 8).cast::<u64>());
            if swar_first(u64::from_le(a)) < 8 || swar_first(u64::from_le(b)) < 8 {
                return false;
            }
            *dst = b'"';
            core::ptr::write_unaligned(dst.add(1).cast::<u64>(), a);
            core::ptr::write_unaligned(dst.add(1 + len - 8).cast::<u64>(), b);
        } else if len >= 4 {
            let a = core::ptr::read_unaligned(src.cast::<u32>());
            let b = core::ptr::read_unaligned(src.add(len - 4).cast::<u32>());
            // Pad each half-word with spaces, which never need escaping.
            let wa = u64::from(u32::from_le(a)) | (SPACES << 32);
            let wb = u64::from(u32::from_le(b)) | (SPACES << 32);
            if swar_first(wa) < 8 || swar_first(wb) < 8 {
                return false;
            }
            *dst = b'"';
            core::ptr::write_unaligned(dst.add(1).cast::<u32>(), a);
            core::ptr::write_unaligned(dst.add(1 + len - 4).cast::<u32>(), b);
        } else {
            for i in 0..len {
                if needs_escape(*src.add(i)) {
                    return false;
                }
            }
            *dst = b'"';
            for i in 0..len {
                *dst.add(1 + i) = *src.add(i);
            }
        }
        *dst.add(1 + len) = b'"';
        out.set_len(out.len() + len + 2);
    }
    true
}

/// Index of the first byte needing an escape in the 8 bytes at `src`, or 8.
#[inline(always)]
pub(crate) fn swar_first(word: u64) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each test may also flag bytes above a true hit (borrows), never below,
    // so the lowest flagged byte is exact.
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = (word ^ (ONES * b'"' as u64)).wrapping_sub(ONES) & !(word ^ (ONES * b'"' as u64));
    let backslash =
        (word ^ (ONES * b'\\' as u64)).wrapping_sub(ONES) & !(word ^ (ONES * b'\\' as u64));
    let mask = (below_space | quote | backslash) & HIGH;
    (mask.trailing_zeros() / 8) as usize
}

/// [`swar_first`] for other modules.
#[inline(always)]
pub(crate) fn swar_first_pub(word: u64) -> usize {
    swar_first(word)
}

/// Portable 8-bytes-at-a-time escaping (used where no SIMD path exists).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn escape_swar<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) {
    /// Copies 8 bytes from `src` to `dst`; returns the index of the first that needs
    /// escaping (8 if none).
    ///
    /// # Safety
    /// 8 bytes are readable at `src` and writable at `dst`.
    #[inline(always)]
    unsafe fn chunk(src: *const u8, dst: *mut u8) -> usize {
        // SAFETY: the loop guarantees 8 readable bytes at src, 8 writable at dst.
        let word = unsafe { core::ptr::read_unaligned(src.cast::<u64>()) };
        // SAFETY: as above, 8 writable bytes at dst.
        unsafe { core::ptr::write_unaligned(dst.cast::<u64>(), word) };
        swar_first(u64::from_le(word))
    }
    // SAFETY: the loop reserves before every write (see escape_loop).
    unsafe { escape_loop!(out, bytes, 8, chunk) }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use core::arch::x86_64::*;

    use crate::output::Output;

    /// AVX2 escaping, 32 bytes per step.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn escape_avx2<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) {
        /// Copies 32 bytes from `src` to `dst`; returns the index of the first that needs
        /// escaping (32 if none).
        ///
        /// # Safety
        /// AVX2 is available; 32 bytes are readable at `src` and writable at `dst`.
        #[inline(always)]
        unsafe fn chunk(src: *const u8, dst: *mut u8) -> usize {
            // SAFETY: 32 readable bytes at src and 32 writable at dst (loop invariant).
            unsafe {
                let v = _mm256_loadu_si256(src.cast());
                _mm256_storeu_si256(dst.cast(), v);
                let quote = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
                let slash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8));
                let limit = _mm256_set1_epi8(0x1f);
                let ctrl = _mm256_cmpeq_epi8(_mm256_max_epu8(v, limit), limit);
                let m = _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(quote, slash), ctrl));
                (m as u32).trailing_zeros() as usize
            }
        }
        // SAFETY: see escape_loop; AVX2 is enabled for this function.
        unsafe { escape_loop!(out, bytes, 32, chunk) }
    }

    /// SSE2 escaping, 16 bytes per step. The twin of `escape_avx2` at half the width: the
    /// intrinsics differ by name and width, so each is written out (deliberately).
    ///
    /// Safe to call: SSE2 is part of the x86-64 baseline, and the loop reserves before
    /// every write.
    #[inline(always)]
    pub(crate) fn escape_sse2<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) {
        /// Copies 16 bytes from `src` to `dst`; returns the index of the first that needs
        /// escaping (16 if none).
        ///
        /// # Safety
        /// 16 bytes are readable at `src` and writable at `dst`.
        #[inline(always)]
        unsafe fn chunk(src: *const u8, dst: *mut u8) -> usize {
            // SAFETY: 16 readable bytes at src and 16 writable at dst.
            unsafe {
                let v = _mm_loadu_si128(src.cast());
                _mm_storeu_si128(dst.cast(), v);
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                let limit = _mm_set1_epi8(0x1f);
                let ctrl = _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
                let m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), ctrl));
                ((m as u32) | 0x1_0000).trailing_zeros() as usize
            }
        }
        // SAFETY: see escape_loop.
        unsafe { escape_loop!(out, bytes, 16, chunk) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(s: &str) -> String {
        let mut r = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => r.push_str("\\\""),
                '\\' => r.push_str("\\\\"),
                '\n' => r.push_str("\\n"),
                '\r' => r.push_str("\\r"),
                '\t' => r.push_str("\\t"),
                '\u{8}' => r.push_str("\\b"),
                '\u{c}' => r.push_str("\\f"),
                c if (c as u32) < 0x20 => r.push_str(&format!("\\u{:04x}", c as u32)),
                c => r.push(c),
            }
        }
        r.push('"');
        r
    }

    fn all_impls(s: &str) -> Vec<Vec<u8>> {
        let mut outs = Vec::new();
        let mut o = b"x".to_vec();
        write_str(&mut o, s);
        outs.push(o);
        let mut o = b"x".to_vec();
        escape_swar(&mut o, s.as_bytes());
        outs.push(o);
        #[cfg(target_arch = "x86_64")]
        {
            let mut o = b"x".to_vec();
            x86::escape_sse2(&mut o, s.as_bytes());
            outs.push(o);
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut o = b"x".to_vec();
                // SAFETY: AVX2 was detected just above.
                unsafe { x86::escape_avx2(&mut o, s.as_bytes()) };
                outs.push(o);
            }
        }
        outs
    }

    #[test]
    fn every_implementation_matches_reference() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "plain".into(),
            "quote\"back\\slash".into(),
            "\u{0}\u{1}\u{1f}\u{7f}\u{2028}\u{2029}é漢字🎉".into(),
            "\n\r\t\u{8}\u{c}".into(),
        ];
        for len in 0usize..100 {
            for special in ['"', '\\', '\n', '\u{1}', 'é', 'a'] {
                for at in [0, len / 2, len.saturating_sub(1)] {
                    let mut s: String = "abcdefghij".chars().cycle().take(len).collect();
                    if len > 0 {
                        s.replace_range(at..at + 1, &special.to_string());
                    }
                    cases.push(s);
                }
            }
        }
        // Every position, one or two escapes: exercises the overlapping tail chunk.
        for len in 1usize..72 {
            for at in 0..len {
                for special in ['"', '\u{1}'] {
                    let mut s: String = "abcdefghij".chars().cycle().take(len).collect();
                    s.replace_range(at..at + 1, &special.to_string());
                    cases.push(s.clone());
                    if at + 1 < len {
                        s.replace_range(at + 1..at + 2, "\n");
                        cases.push(s);
                    }
                }
            }
        }
        cases.push("\u{1}".repeat(1000));
        cases.push("\"".repeat(777) + &"x".repeat(100));
        for case in &cases {
            let want = format!("x{}", reference(case));
            for got in all_impls(case) {
                assert_eq!(String::from_utf8(got).unwrap(), want, "{case:?}");
            }
        }
    }
}
