//! Python's `repr()` of a `str`, so that error texts built here read as Python's own.
//!
//! Starlette's messages embed values with `%r` / `{value!r}` (`Illegal key 'a b'`); the
//! Rust errors that stand in for them carry the same text.

use std::fmt::Write;

/// `repr(text)` as CPython writes it: single quotes unless the text holds `'` and no `"`,
/// backslash escapes for the quote, `\`, `\t`, `\n`, `\r`, and `\xNN` / `\uNNNN` /
/// `\UNNNNNNNN` for characters that are not printable.
///
/// Printability is Python's `str.isprintable()` exactly for Latin-1. Above it, controls,
/// white space other than the space (`char::is_control`, `char::is_whitespace`) and the
/// common format characters are escaped; every other character is kept, so unassigned and
/// private-use characters, which Python escapes, are kept here.
///
/// ```
/// use tachyon_core::repr::python_str_repr;
/// assert_eq!(python_str_repr("a b"), "'a b'");
/// assert_eq!(python_str_repr("it's"), "\"it's\"");
/// assert_eq!(python_str_repr("k\u{e9}\n\u{7f}"), "'k\u{e9}\\n\\x7f'");
/// ```
pub fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            // Writing to a String cannot fail.
            c if u32::from(c) <= 0xff => _ = write!(out, "\\x{:02x}", u32::from(c)),
            c if u32::from(c) <= 0xffff => _ = write!(out, "\\u{:04x}", u32::from(c)),
            c => _ = write!(out, "\\U{:08x}", u32::from(c)),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one character (see [`python_str_repr`] for its reach).
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    // Format characters (Cf) Python escapes: soft hyphen, the zero-width and bidi marks,
    // the word joiner and invisible operators, the byte-order mark.
    !matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}
