//! Numbers formatted as Python formats them: integers in decimal, floats as
//! `repr(float)` does (shortest round-trip digits, `.0` on integral values,
//! exponent form below 1e-4 and from 1e16 up).

use crate::output::Output;

static DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Number of decimal digits of `v` (1 for 0).
#[inline(always)]
fn decimal_len(v: u64) -> usize {
    const POW10: [u64; 20] = {
        let mut t = [1u64; 20];
        let mut i = 1;
        let mut p = 1u64;
        while i < 20 {
            p *= 10;
            t[i] = p;
            i += 1;
        }
        t
    };
    // log10 estimate from the bit length, corrected by one comparison.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    let guess = (bits * 1233) >> 12;
    (guess + usize::from(v >= POW10[guess])).max(1)
}

/// Writes the digits of `v` straight into `out`'s spare capacity, two at a
/// time from the end (no intermediate buffer, no `memcpy` call).
#[inline(always)]
fn write_digits<O: Output + ?Sized>(out: &mut O, mut v: u64) {
    let n = decimal_len(v);
    out.reserve(20);
    // SAFETY: 20 bytes reserved; exactly `n` bytes are written before set_len.
    unsafe {
        let start = out.as_mut_ptr().add(out.len());
        let mut end = start.add(n);
        while v > u64::from(u32::MAX) {
            let pair = (v % 100) as usize * 2;
            v /= 100;
            end = end.sub(2);
            core::ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(pair), end, 2);
        }
        // Most integers fit in 32 bits, where dividing by 100 is a cheaper multiply.
        let mut w = v as u32;
        while w >= 100 {
            let pair = (w % 100) as usize * 2;
            w /= 100;
            end = end.sub(2);
            core::ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(pair), end, 2);
        }
        let v = u64::from(w);
        if v >= 10 {
            end = end.sub(2);
            core::ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(v as usize * 2), end, 2);
        } else {
            end = end.sub(1);
            *end = b'0' + v as u8;
        }
        debug_assert_eq!(end, start);
        out.set_len(out.len() + n);
    }
}

/// Appends the decimal form of `v`.
#[inline]
pub fn write_i64<O: Output + ?Sized>(out: &mut O, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_digits(out, v.unsigned_abs());
}

/// Appends the decimal form of `v`.
#[inline]
pub fn write_u64<O: Output + ?Sized>(out: &mut O, v: u64) {
    write_digits(out, v);
}

/// Appends the decimal form of a 128-bit integer.
#[inline]
pub fn write_i128<O: Output + ?Sized>(out: &mut O, v: i128) {
    let mut buf = itoa::Buffer::new();
    push_small(out, buf.format(v).as_bytes());
}

/// Bytes of room [`write_finite_f64_raw`] needs at its destination: the longest text
/// (`-2.2250738585072014e-308`, 24 bytes) and zmij's scratch (its 24-byte buffer).
pub const F64_ROOM: usize = 32;

/// Appends `v` exactly as Python's `repr(float)` spells it; NaN and the
/// infinities as `NaN`, `Infinity`, `-Infinity` (what `json.dumps` writes
/// when `allow_nan=True`). Callers that must reject them check first.
#[inline]
pub fn write_f64<O: Output + ?Sized>(out: &mut O, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(nonfinite(v).as_bytes());
        return;
    }
    out.reserve(F64_ROOM);
    let at = out.len();
    // SAFETY: `F64_ROOM` bytes of spare capacity are reserved at `at`; the function
    // initializes the `n` bytes it reports, which become part of the output.
    unsafe {
        let n = write_finite_f64_raw(out.as_mut_ptr().add(at), v);
        out.set_len(at + n);
    }
}

/// Writes finite `v` as Python's `repr(float)` spells it at `dst` and returns its length:
/// [`write_f64`] for callers that keep their own cursor in registers (an [`Output`]
/// whose length lives in memory makes each append wait for the previous one's store).
///
/// # Safety
/// `v` is finite, and `dst` is valid for writes of [`F64_ROOM`] bytes (their contents
/// beyond the returned length are unspecified afterwards).
#[inline(always)]
pub unsafe fn write_finite_f64_raw(dst: *mut u8, v: f64) -> usize {
    debug_assert!(v.is_finite());
    // zmij formats in place at `dst`: formatting into a stack buffer and copying out
    // made the copy's wide loads wait on zmij's narrower stores (a store-forwarding
    // stall, most of the cost beyond zmij's own in a profile of canada.json).
    const _: () = assert!(align_of::<zmij::Buffer>() == 1);
    const _: () = assert!(size_of::<zmij::Buffer>() <= F64_ROOM);
    // SAFETY: per the caller, `dst` has room for a `zmij::Buffer`, which is an array of
    // `MaybeUninit<u8>` (alignment 1, checked above; any bytes valid), so that memory
    // may be used as one. Only the bytes of the returned text count, where they are.
    let len = unsafe {
        let buf = &mut *dst.cast::<zmij::Buffer>();
        let text = buf.format_finite(v);
        let len = text.len();
        if text.as_ptr() != dst.cast_const() {
            // Not where zmij has put it in any version so far.
            core::ptr::copy(text.as_ptr(), dst, len);
        }
        len
    };
    // zmij already writes Python's fixed layout (`123.0`, `0.001`) for
    // decimal exponents -5..=15; Python's fixed range is -4..=15, and its
    // exponent form has a sign and at least two digits (`1e+16`, `1e-07`).
    // Deciding on the value (one compare, predicted) rather than on the
    // text just written saves reloading the bytes. The bounds are exact:
    // 1e16 is a double, and no shortest decimal of a double below the
    // double nearest 1e-4 is at least 1e-4 (that decimal reads back as it).
    let a = v.abs();
    if !(1e-4..1e16).contains(&a) && a != 0.0 {
        // SAFETY: `len` bytes of text at `dst`, which has `F64_ROOM` bytes of room.
        return unsafe { python_exponent_form(dst, len) };
    }
    len
}

/// Rewrites the float text at `dst[..n]` into Python's exponent form; returns its length.
///
/// # Safety
/// `dst[..n]` is initialized and `dst` is valid for writes of [`F64_ROOM`] bytes.
#[cold]
unsafe fn python_exponent_form(dst: *mut u8, n: usize) -> usize {
    let mut tmp = [0u8; F64_ROOM];
    // SAFETY: per the caller.
    tmp[..n].copy_from_slice(unsafe { core::slice::from_raw_parts(dst, n) });
    let text = &tmp[..n];
    let mut out = [0u8; F64_ROOM];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        out[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    if let Some(e) = text.iter().rposition(|&c| c == b'e') {
        put(&text[..e]);
        let exp = &text[e + 1..];
        let (sign, digits) = match exp[0] {
            b'-' => (b'-', &exp[1..]),
            b'+' => (b'+', &exp[1..]),
            _ => (b'+', exp),
        };
        put(&[b'e', sign]);
        if digits.len() == 1 {
            put(b"0");
        }
        put(digits);
    } else {
        // 1.234e-5 arrives as 0.00001234: Python writes 1.234e-05.
        let neg = usize::from(text[0] == b'-');
        let digits = &text[neg + 6..];
        put(&text[..neg]);
        put(&digits[..1]);
        if digits.len() > 1 {
            put(b".");
            put(&digits[1..]);
        }
        put(b"e-05");
    }
    // SAFETY: `len` <= 24 (Python's longest float repr) <= F64_ROOM, per the caller.
    unsafe { core::ptr::copy_nonoverlapping(out.as_ptr(), dst, len) };
    len
}

/// Appends a short slice without a call to `memcpy` (measured: the call
/// dominated formatting numbers).
#[inline(always)]
pub(crate) fn push_small<O: Output + ?Sized>(out: &mut O, s: &[u8]) {
    out.reserve(s.len());
    // SAFETY: capacity reserved above; the copy stays within `s`.
    unsafe {
        let mut dst = out.as_mut_ptr().add(out.len());
        let mut src = s.as_ptr();
        let mut left = s.len();
        while left >= 8 {
            core::ptr::write_unaligned(
                dst.cast::<u64>(),
                core::ptr::read_unaligned(src.cast::<u64>()),
            );
            dst = dst.add(8);
            src = src.add(8);
            left -= 8;
        }
        while left > 0 {
            *dst = *src;
            dst = dst.add(1);
            src = src.add(1);
            left -= 1;
        }
        out.set_len(out.len() + s.len());
    }
}

/// Appends `v` (shortest digits as an `f32`) in Python's float notation.
#[inline]
pub fn write_f32<O: Output + ?Sized>(out: &mut O, v: f32) {
    if !v.is_finite() {
        out.extend_from_slice(nonfinite(v as f64).as_bytes());
        return;
    }
    let mut buf = zmij::Buffer::new();
    let text = buf.format_finite(v);
    write_python_repr(out, v.is_sign_negative(), text.as_bytes());
}

fn nonfinite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Reformats any shortest-digits rendering (`123.45`, `1e16`, `1.5e-5`,
/// `0.001`) into Python's repr layout.
#[inline]
fn write_python_repr<O: Output + ?Sized>(out: &mut O, negative: bool, text: &[u8]) {
    let mut digits = [0u8; 24];
    let mut n = 0usize;
    let mut int_digits: i32 = 0;
    let mut skipped: i32 = 0;
    let mut seen_point = false;
    let mut exp: i32 = 0;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        match c {
            b'0'..=b'9' => {
                if !seen_point {
                    int_digits += 1;
                }
                if n == 0 && c == b'0' {
                    skipped += 1;
                } else if n < digits.len() {
                    digits[n] = c;
                    n += 1;
                }
            }
            b'.' => seen_point = true,
            b'e' | b'E' => {
                let mut j = i + 1;
                let mut neg = false;
                if j < text.len() && (text[j] == b'-' || text[j] == b'+') {
                    neg = text[j] == b'-';
                    j += 1;
                }
                while j < text.len() {
                    exp = exp * 10 + (text[j] - b'0') as i32;
                    j += 1;
                }
                if neg {
                    exp = -exp;
                }
                break;
            }
            _ => {}
        }
        i += 1;
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    if negative {
        out.push(b'-');
    }
    if n == 0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    // The value is 0.d1d2...dn * 10^decpt.
    let decpt = int_digits - skipped + exp;
    let digits = &digits[..n];
    if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            out.extend_from_slice(b"0.");
            for _ in 0..-decpt {
                out.push(b'0');
            }
            out.extend_from_slice(digits);
        } else if (decpt as usize) < n {
            let d = decpt as usize;
            out.extend_from_slice(&digits[..d]);
            out.push(b'.');
            out.extend_from_slice(&digits[d..]);
        } else {
            out.extend_from_slice(digits);
            for _ in 0..decpt as usize - n {
                out.push(b'0');
            }
            out.extend_from_slice(b".0");
        }
    } else {
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let e = decpt - 1;
        out.push(b'e');
        out.push(if e < 0 { b'-' } else { b'+' });
        let e = e.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        let mut buf = itoa::Buffer::new();
        out.extend_from_slice(buf.format(e).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn python_repr_cases() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (123.0, "123.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e-7, "1e-07"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e15, "1000000000000000.0"),
            (1e300, "1e+300"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.3, "0.3"),
            (1.0 / 3.0, "0.3333333333333333"),
            (-65.61361699999998, "-65.61361699999998"),
            (100.0, "100.0"),
            (1e22, "1e+22"),
            (1.25e-4, "0.000125"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(v, want) in cases {
            assert_eq!(repr(v), want, "{v:e}");
        }
    }

    #[test]
    fn layout_seams() {
        let below = |v: f64| f64::from_bits(v.to_bits() - 1);
        let above = |v: f64| f64::from_bits(v.to_bits() + 1);
        let cases: &[(f64, &str)] = &[
            (below(1e-4), "9.999999999999999e-05"),
            (above(1e-4), "0.00010000000000000002"),
            (below(1e-5), "9.999999999999999e-06"),
            (below(1e16), "9999999999999998.0"),
            (above(1e16), "1.0000000000000002e+16"),
            (-1e-4, "-0.0001"),
            (-1e16, "-1e+16"),
            (-1.5e-5, "-1.5e-05"),
            (1.2345678901234568e-5, "1.2345678901234568e-05"),
            (1e-323, "1e-323"),
            (4.94065645841247e-310, "4.94065645841247e-310"),
            (1e100, "1e+100"),
            (1.5e-100, "1.5e-100"),
            (2.0f64.powi(53), "9007199254740992.0"),
            (2.0f64.powi(54), "1.8014398509481984e+16"),
            (1234567890123456.8, "1234567890123456.8"),
            (0.00012345678901234567, "0.00012345678901234567"),
        ];
        for &(v, want) in cases {
            assert_eq!(repr(v), want, "{v:e}");
        }
    }

    #[test]
    fn round_trips() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                let s = repr(v);
                assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
            }
        }
    }

    #[test]
    fn integer_lengths() {
        let mut v: u64 = 1;
        for _ in 0..19 {
            for w in [v - 1, v, v + 1, v * 9 + (v - 1)] {
                let mut out = Vec::new();
                write_u64(&mut out, w);
                assert_eq!(out, w.to_string().as_bytes());
            }
            v *= 10;
        }
        let mut out = Vec::new();
        write_i64(&mut out, 0);
        assert_eq!(out, b"0");
        // Around the 32-bit switch of the digit loop.
        let max = u64::from(u32::MAX);
        for w in [
            max - 1,
            max,
            max + 1,
            max * 100,
            max * 100 + 99,
            (max + 1) * 10,
        ] {
            let mut out = Vec::new();
            write_u64(&mut out, w);
            assert_eq!(out, w.to_string().as_bytes());
        }
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_i64(&mut out, i64::MIN);
        out.push(b' ');
        write_u64(&mut out, u64::MAX);
        assert_eq!(out, b"-9223372036854775808 18446744073709551615");
    }
}
