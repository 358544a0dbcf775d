//! Error types, one small type per failure, each with a plain `Display` text.

use std::fmt;

use crate::repr::python_str_repr;

/// A header name or value that cannot be stored or sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The value holds CR, LF or NUL (header injection); the byte is given.
    InvalidValueByte(u8),
    /// The name is empty or holds a byte that cannot appear in a field name.
    InvalidName(String),
    /// A `&str` holds a character above U+00FF, which latin-1 cannot encode.
    NotLatin1(char),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::InvalidValueByte(b) => {
                write!(f, "invalid header value: byte 0x{b:02x} is not allowed")
            }
            HeaderError::InvalidName(n) => write!(f, "invalid header name: {n:?}"),
            HeaderError::NotLatin1(c) => {
                write!(f, "header text is not latin-1: {c:?} cannot be encoded")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// A cookie that `Set-Cookie` rendering refuses, as Python's `http.cookies` would.
///
/// The texts are Python's own (`Illegal key 'a b'`), so the binding raises them unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieError {
    /// The key holds a character outside the legal cookie-name set.
    IllegalKey(String),
    /// The key is one of the reserved attribute names (`path`, `expires`, ...).
    ReservedKey(String),
    /// `samesite` is not one of `strict`, `lax`, `none`.
    InvalidSameSite(String),
    /// An attribute value holds CR, LF or NUL.
    InvalidAttribute(&'static str),
    /// The rendered header holds characters above U+00FF: `text[start..end]` (counted in
    /// chars) is the first run of them, as Python's latin-1 encoder reports it.
    NotLatin1 {
        /// The rendered header value.
        text: String,
        /// Index (in chars) of the first character that is not Latin-1.
        start: usize,
        /// Index (in chars) just past the run of such characters that starts at `start`.
        end: usize,
    },
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::IllegalKey(k) => write!(f, "Illegal key {}", python_str_repr(k)),
            CookieError::ReservedKey(k) => {
                write!(f, "Attempt to set a reserved key {}", python_str_repr(k))
            }
            CookieError::InvalidSameSite(_) => {
                f.write_str("samesite must be either 'strict', 'lax' or 'none'")
            }
            CookieError::InvalidAttribute(a) => {
                write!(
                    f,
                    "invalid cookie attribute {a}: CR, LF and NUL are not allowed"
                )
            }
            CookieError::NotLatin1 { text, start, end } => {
                // UnicodeEncodeError's own text: one character is shown escaped, a run by
                // its positions.
                let first = text.chars().nth(*start).map_or(0, u32::from);
                if end - start == 1 && first <= 0xffff {
                    write!(f, "'latin-1' codec can't encode character '\\u{first:04x}'")?;
                } else if end - start == 1 {
                    write!(f, "'latin-1' codec can't encode character '\\U{first:08x}'")?;
                } else {
                    f.write_str("'latin-1' codec can't encode characters")?;
                }
                if end - start == 1 {
                    write!(f, " in position {start}")?;
                } else {
                    write!(f, " in position {start}-{}", end - 1)?;
                }
                f.write_str(": ordinal not in range(256)")
            }
        }
    }
}

impl std::error::Error for CookieError {}

/// A URL that `urllib.parse.urlsplit` (or its `.port`) would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// Unbalanced `[` / `]` in the netloc.
    InvalidIpv6,
    /// The bracketed host is neither IPv6 nor a valid IPvFuture literal.
    InvalidBracketedHost(String),
    /// The port is not made of ASCII digits.
    InvalidPort(String),
    /// The port is above 65535.
    PortOutOfRange,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::InvalidIpv6 => f.write_str("Invalid IPv6 URL"),
            UrlError::InvalidBracketedHost(h) => write!(f, "invalid bracketed host: {h:?}"),
            UrlError::InvalidPort(p) => {
                write!(f, "Port could not be cast to integer value as '{p}'")
            }
            UrlError::PortOutOfRange => f.write_str("Port out of range 0-65535"),
        }
    }
}

impl std::error::Error for UrlError {}

/// A form body (multipart or urlencoded) that cannot be accepted; maps to HTTP 400.
#[derive(Debug)]
#[non_exhaustive]
pub enum FormError {
    /// The Content-Type has no `boundary` parameter.
    MissingBoundary,
    /// More file parts than `max_files`.
    TooManyFiles(usize),
    /// More field parts than `max_fields`.
    TooManyFields(usize),
    /// A non-file multipart part is larger than `max_part_size` bytes.
    PartTooLarge(usize),
    /// A urlencoded field is larger than `max_part_size` bytes.
    FieldTooLarge(usize),
    /// A part's Content-Disposition has no `name`.
    MissingName,
    /// The body ended before the closing boundary.
    Truncated,
    /// The body is not valid multipart data (the reason is given).
    Invalid(&'static str),
    /// Writing a file part to its sink failed.
    Io(std::io::Error),
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::MissingBoundary => f.write_str("Missing boundary in multipart."),
            FormError::TooManyFiles(n) => {
                write!(f, "Too many files. Maximum number of files is {n}.")
            }
            FormError::TooManyFields(n) => {
                write!(f, "Too many fields. Maximum number of fields is {n}.")
            }
            FormError::PartTooLarge(n) => {
                write!(f, "Part exceeded maximum size of {}KB.", n / 1024)
            }
            FormError::FieldTooLarge(n) => {
                write!(f, "Field exceeded maximum size of {}KB.", n / 1024)
            }
            FormError::MissingName => {
                f.write_str("The Content-Disposition header field \"name\" must be provided.")
            }
            FormError::Truncated => f.write_str("Invalid multipart data: the body is truncated."),
            FormError::Invalid(why) => write!(f, "Invalid multipart data: {why}."),
            FormError::Io(e) => write!(f, "could not store an uploaded file: {e}"),
        }
    }
}

impl std::error::Error for FormError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FormError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for FormError {
    fn from(e: std::io::Error) -> Self {
        FormError::Io(e)
    }
}
