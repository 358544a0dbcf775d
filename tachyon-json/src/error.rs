//! Reader errors: what went wrong and at which byte.

use core::fmt;

/// The kinds of malformed input the reader reports; the messages are those
/// of Python's `json.JSONDecodeError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value was expected (also: an unknown literal, a bad number).
    ExpectingValue,
    /// A `,` (or the container's closing bracket) was expected.
    ExpectingComma,
    /// A `:` was expected after an object key.
    ExpectingColon,
    /// An object key in double quotes was expected.
    ExpectingKey,
    /// The input ended inside a string; the offset is its opening quote.
    UnterminatedString,
    /// A raw control character (below 0x20) inside a string.
    ControlCharacter,
    /// A backslash followed by an unknown escape letter.
    InvalidEscape,
    /// A `\u` not followed by four hex digits.
    InvalidUnicodeEscape,
    /// Something other than whitespace after the top-level value.
    ExtraData,
    /// Containers nested deeper than the configured limit.
    TooDeep,
    /// Bytes that are not UTF-8 inside a string.
    InvalidUtf8,
    /// A `,` right before an array's `]`; the offset is the comma. Reported
    /// only when [`Reader::trailing_comma_errors`](crate::Reader::trailing_comma_errors)
    /// is on (Python 3.13's wording), otherwise this is [`ErrorKind::ExpectingValue`] at the `]`.
    TrailingCommaInArray,
    /// A `,` right before an object's `}`; the offset is the comma. Reported
    /// only when [`Reader::trailing_comma_errors`](crate::Reader::trailing_comma_errors)
    /// is on, otherwise this is [`ErrorKind::ExpectingKey`] at the `}`.
    TrailingCommaInObject,
    /// A number too large for a float (`1e400`); the offset is its first byte. Reported
    /// only when [`Reader::allow_non_finite`](crate::Reader::allow_non_finite) is off
    /// (Python's `json` has no such error: it reads the number as `inf`).
    NumberOutOfRange,
}

impl ErrorKind {
    /// The message Python's `json` module uses for this error.
    pub fn message(self) -> &'static str {
        match self {
            ErrorKind::ExpectingValue => "Expecting value",
            ErrorKind::ExpectingComma => "Expecting ',' delimiter",
            ErrorKind::ExpectingColon => "Expecting ':' delimiter",
            ErrorKind::ExpectingKey => "Expecting property name enclosed in double quotes",
            ErrorKind::UnterminatedString => "Unterminated string starting at",
            ErrorKind::ControlCharacter => "Invalid control character at",
            ErrorKind::InvalidEscape => "Invalid \\escape",
            ErrorKind::InvalidUnicodeEscape => "Invalid \\uXXXX escape",
            ErrorKind::ExtraData => "Extra data",
            ErrorKind::TooDeep => "Nesting too deep",
            ErrorKind::InvalidUtf8 => "Invalid UTF-8",
            ErrorKind::TrailingCommaInArray => "Illegal trailing comma before end of array",
            ErrorKind::TrailingCommaInObject => "Illegal trailing comma before end of object",
            ErrorKind::NumberOutOfRange => "Number out of range",
        }
    }
}

/// A syntax error: its kind and the byte offset in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    offset: usize,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> Self {
        Error { kind, offset }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Byte offset in the input where it went wrong.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The same error as a trailing-comma error if it is one: a value
    /// expected at `]`, or a key expected at `}`, right after a `,` (only
    /// whitespace between). Such an error can only follow the `,` token, so
    /// looking back over whitespace is enough.
    #[cold]
    pub(crate) fn with_trailing_comma(self, input: &[u8]) -> Self {
        let kind = match (self.kind, input.get(self.offset)) {
            (ErrorKind::ExpectingValue, Some(b']')) => ErrorKind::TrailingCommaInArray,
            (ErrorKind::ExpectingKey, Some(b'}')) => ErrorKind::TrailingCommaInObject,
            _ => return self,
        };
        let before = input[..self.offset]
            .iter()
            .rposition(|&b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'));
        match before {
            Some(comma) if input[comma] == b',' => Error::new(kind, comma),
            _ => self,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid JSON: {} at byte {}",
            self.kind.message(),
            self.offset
        )
    }
}

impl std::error::Error for Error {}

/// A failed read: malformed input, or an error raised by the [`Sink`](crate::Sink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError<E> {
    /// The input is not valid JSON.
    Syntax(Error),
    /// The sink refused a value.
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Syntax(e) => e.fmt(f),
            ReadError::Sink(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ReadError<E> {}

impl<E> From<Error> for ReadError<E> {
    fn from(e: Error) -> Self {
        ReadError::Syntax(e)
    }
}
