//! Numbers formatted as Python formats them: integers in decimal, floats as
//! `repr(float)` does (shortest round-trip digits, `.0` on integral values,
//! exponent form below 1e-4 and from 1e16 up).

/// Appends the decimal form of `v`.
#[inline]
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Appends the decimal form of `v`.
#[inline]
pub fn write_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Appends the decimal form of a 128-bit integer.
#[inline]
pub fn write_i128(out: &mut Vec<u8>, v: i128) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Appends `v` exactly as Python's `repr(float)` spells it; NaN and the
/// infinities as `NaN`, `Infinity`, `-Infinity` (what `json.dumps` writes
/// when `allow_nan=True`). Callers that must reject them check first.
#[inline]
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(nonfinite(v).as_bytes());
        return;
    }
    let mut buf = zmij::Buffer::new();
    let text = buf.format_finite(v);
    write_python_repr(out, v.is_sign_negative(), text.as_bytes());
}

/// Appends `v` (shortest digits as an `f32`) in Python's float notation.
#[inline]
pub fn write_f32(out: &mut Vec<u8>, v: f32) {
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
fn write_python_repr(out: &mut Vec<u8>, negative: bool, text: &[u8]) {
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
            out.resize(out.len() + (-decpt) as usize, b'0');
            out.extend_from_slice(digits);
        } else if (decpt as usize) < n {
            let d = decpt as usize;
            out.extend_from_slice(&digits[..d]);
            out.push(b'.');
            out.extend_from_slice(&digits[d..]);
        } else {
            out.extend_from_slice(digits);
            out.resize(out.len() + decpt as usize - n, b'0');
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
            (-65.613616999999977, "-65.61361699999998"),
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
    fn integers() {
        let mut out = Vec::new();
        write_i64(&mut out, i64::MIN);
        out.push(b' ');
        write_u64(&mut out, u64::MAX);
        assert_eq!(out, b"-9223372036854775808 18446744073709551615");
    }
}
